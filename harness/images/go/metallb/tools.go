//go:build tools

// Package forge pins MetalLB's controller and speaker (native/L2 mode).
package forge

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/speaker"
)
