// Command coredns is the forge's CoreDNS entry point: the upstream plugin set
// of the pinned github.com/coredns/coredns module, started by coremain.
package main

import (
	_ "github.com/coredns/coredns/core/plugin"
	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
