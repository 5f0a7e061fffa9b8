#!/bin/bash
# Build the forge's binaries from the pinned Go modules in this directory.
#
#   harness/images/go/build.sh [target...]      (default: all targets)
#
# Output: ${FORGE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/netconform/forge/bin}/<target>
# Every binary is static (CGO_ENABLED=0) and built with -trimpath, so the same
# go.mod/go.sum and Go toolchain give the same bytes. Wall times go to stderr as
# "BUILT <target> <seconds>s".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/local/go/bin CGO_ENABLED=0
OUT=${FORGE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/netconform/forge/bin}
mkdir -p "$OUT"

# the Kubernetes version stamped into the binaries is the one k8s/go.mod requires
K8S_VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/k8s/go.mod")
[[ $K8S_VERSION =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || { echo "cannot read k8s.io/kubernetes from k8s/go.mod" >&2; exit 1; }
K8S_MINOR=${BASH_REMATCH[1]}
# buildDate: the module's tag time, so the same pins give the same bytes
K8S_DATE=$(cd "$here/k8s" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
k8s_ldflags() {
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
    ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=netconform-forge -X $p.buildDate=$K8S_DATE"
  done
  echo "$ld"
}

# target -> "module-dir package [ldflags-kind]"
declare -A T=(
  [kubeadm]="k8s k8s.io/kubernetes/cmd/kubeadm k8s"
  [kubelet]="k8s k8s.io/kubernetes/cmd/kubelet k8s"
  [kubectl]="k8s k8s.io/kubernetes/cmd/kubectl k8s"
  [kube-apiserver]="k8s k8s.io/kubernetes/cmd/kube-apiserver k8s"
  [kube-controller-manager]="k8s k8s.io/kubernetes/cmd/kube-controller-manager k8s"
  [kube-scheduler]="k8s k8s.io/kubernetes/cmd/kube-scheduler k8s"
  [kube-proxy]="k8s k8s.io/kubernetes/cmd/kube-proxy k8s"
  [agnhost]="k8s k8s.io/kubernetes/test/images/agnhost k8s"
  [nodenet]="k8s ./cmd/nodenet -"
  [etcd]="etcd . -"
  [coredns]="coredns . -"
  [kind]="kind sigs.k8s.io/kind -"
  [crictl]="crictl sigs.k8s.io/cri-tools/cmd/crictl crictl"
  [local-path-provisioner]="lpp github.com/rancher/local-path-provisioner -"
  [metallb-controller]="metallb go.universe.tf/metallb/controller -"
  [metallb-speaker]="metallb go.universe.tf/metallb/speaker -"
  [cp-tool]="metallb go.universe.tf/metallb/frr-tools/cp-tool -"
  [frr-metrics]="metallb go.universe.tf/metallb/frr-tools/metrics -"
)
ORDER=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy agnhost nodenet etcd coredns kind crictl local-path-provisioner metallb-controller metallb-speaker cp-tool frr-metrics)

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ORDER[@]}")
for t in "${targets[@]}"; do
  [[ -n "${T[$t]:-}" ]] || { echo "unknown target $t" >&2; exit 2; }
  read -r dir pkg ldk <<<"${T[$t]}"
  case $ldk in
    k8s) ld=$(k8s_ldflags) ;;
    crictl) ld="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v1.34.0" ;;
    *) ld="-s -w" ;;
  esac
  # cri-tools v1.34.0 is absent from sum.golang.org; go.sum (in this repo) pins its hash.
  env=()
  [[ $dir == crictl ]] && env=(GONOSUMDB=sigs.k8s.io/cri-tools)
  start=$(date +%s)
  tmp="$OUT/.$t.$$.tmp"   # unique per process: two forges may build the same target at once
  (cd "$here/$dir" && env "${env[@]}" nice -n 10 go build -trimpath -ldflags "$ld" -o "$tmp" "$pkg")
  mv "$tmp" "$OUT/$t"
  echo "BUILT $t $(( $(date +%s) - start ))s" >&2
done
