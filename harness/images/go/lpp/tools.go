//go:build tools

// Package forge pins local-path-provisioner.
package forge

import _ "github.com/rancher/local-path-provisioner"
