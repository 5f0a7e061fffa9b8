//go:build tools

// Package forge pins MetalLB's controller and speaker, and the FRR-mode helpers the speaker
// image carries (cp-tool, frr-metrics).
package forge

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/frr-tools/cp-tool"
	_ "go.universe.tf/metallb/frr-tools/metrics"
	_ "go.universe.tf/metallb/speaker"
)
