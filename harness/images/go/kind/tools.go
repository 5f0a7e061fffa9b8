//go:build tools

// Package forge pins the kind CLI.
package forge

import _ "sigs.k8s.io/kind"
