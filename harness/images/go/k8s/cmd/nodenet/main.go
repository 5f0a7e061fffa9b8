// Command nodenet is netconform's minimal pod network for kind-style clusters
// whose nodes share one L2 docker network (the role kindnetd plays in kind).
//
// Run as a hostNetwork DaemonSet, it periodically:
//   - writes a CNI config for this node's podCIDR (ptp + host-local + portmap,
//     plugins from Debian's containernetworking-plugins in the node image);
//   - routes every other node's podCIDR via that node's InternalIP;
//   - masquerades pod traffic leaving the pod and node networks.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	chain    = "NODENET-MASQ"
	confName = "10-nodenet.conflist"
	// routeProto marks the routes nodenet owns, so it can remove those of deleted nodes
	routeProto = "77"
)

func main() {
	nodeName := os.Getenv("NODE_NAME")
	podSubnet := os.Getenv("POD_SUBNET")
	confDir := envOr("CNI_CONF_DIR", "/etc/cni/net.d")
	mtu := envOr("MTU", "1500")
	if nodeName == "" || podSubnet == "" {
		log.Fatal("NODE_NAME and POD_SUBNET must be set")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	lastConf := ""
	for {
		if err := reconcile(client, nodeName, podSubnet, confDir, mtu, &lastConf); err != nil {
			log.Printf("reconcile: %v", err)
		}
		time.Sleep(10 * time.Second)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func internalIPv4(n *v1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP && net.ParseIP(a.Address).To4() != nil {
			return a.Address
		}
	}
	return ""
}

func podCIDRv4(n *v1.Node) string {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if ip, _, err := net.ParseCIDR(c); err == nil && ip.To4() != nil {
			return c
		}
	}
	return ""
}

func reconcile(client kubernetes.Interface, self, podSubnet, confDir, mtu string, lastConf *string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var nodeIPs []string
	want := map[string]bool{}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ip, cidr := internalIPv4(n), podCIDRv4(n)
		if ip != "" {
			nodeIPs = append(nodeIPs, ip)
		}
		if n.Name == self {
			if cidr == "" {
				log.Printf("node %s has no podCIDR yet", self)
				continue
			}
			conf, err := cniConfig(cidr, mtu)
			if err != nil {
				return err
			}
			if conf != *lastConf {
				if err := writeAtomic(filepath.Join(confDir, confName), conf); err != nil {
					return err
				}
				*lastConf = conf
				log.Printf("wrote CNI config for %s", cidr)
			}
			continue
		}
		if ip == "" || cidr == "" {
			continue
		}
		want[cidr] = true
		if out, err := exec.Command("ip", "route", "replace", cidr, "via", ip, "proto", routeProto).CombinedOutput(); err != nil {
			log.Printf("route %s via %s: %v: %s", cidr, ip, err, out)
		}
	}
	pruneRoutes(want)
	return masquerade(podSubnet, nodeIPs)
}

// pruneRoutes deletes nodenet's routes to podCIDRs no node holds any more.
func pruneRoutes(want map[string]bool) {
	out, err := exec.Command("ip", "-4", "route", "show", "proto", routeProto).Output()
	if err != nil {
		log.Printf("list routes: %v", err)
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dst := strings.Fields(line)
		if len(dst) == 0 || want[dst[0]] {
			continue
		}
		if o, err := exec.Command("ip", "route", "del", dst[0], "proto", routeProto).CombinedOutput(); err != nil {
			log.Printf("delete route %s: %v: %s", dst[0], err, o)
		} else {
			log.Printf("deleted route %s (no node holds it)", dst[0])
		}
	}
}

func cniConfig(cidr, mtu string) (string, error) {
	var m int
	if _, err := fmt.Sscanf(mtu, "%d", &m); err != nil {
		return "", fmt.Errorf("MTU %q: %w", mtu, err)
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "nodenet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    m,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"ranges":  []any{[]any{map[string]any{"subnet": cidr}}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	return string(b) + "\n", err
}

func writeAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// masquerade (re)writes the NODENET-MASQ nat chain: pod-sourced traffic to
// anything but pods or nodes leaves with the node's address.
func masquerade(podSubnet string, nodeIPs []string) error {
	sort.Strings(nodeIPs)
	var b strings.Builder
	b.WriteString("*nat\n:" + chain + " - [0:0]\n")
	b.WriteString("-A " + chain + " -d " + podSubnet + " -j RETURN\n")
	for _, ip := range nodeIPs {
		b.WriteString("-A " + chain + " -d " + ip + "/32 -j RETURN\n")
	}
	b.WriteString("-A " + chain + " -m addrtype ! --dst-type LOCAL -j MASQUERADE\n")
	b.WriteString("COMMIT\n")
	restore := exec.Command("iptables-restore", "--noflush")
	restore.Stdin = strings.NewReader(b.String())
	if out, err := restore.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, out)
	}
	rule := []string{"POSTROUTING", "-s", podSubnet, "-m", "comment", "--comment", "nodenet masquerade", "-j", chain}
	if exec.Command("iptables", append([]string{"-t", "nat", "-C"}, rule...)...).Run() != nil {
		if out, err := exec.Command("iptables", append([]string{"-t", "nat", "-A"}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -A POSTROUTING: %v: %s", err, out)
		}
	}
	return nil
}
