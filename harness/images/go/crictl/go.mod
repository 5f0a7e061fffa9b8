module netconform.local/forge/crictl

go 1.24

require sigs.k8s.io/cri-tools v1.34.0
