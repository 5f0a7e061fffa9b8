//go:build tools

// Package forge pins crictl.
package forge

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
