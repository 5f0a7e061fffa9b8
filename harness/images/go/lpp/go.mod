module netconform.local/forge/lpp

go 1.24

require github.com/rancher/local-path-provisioner v0.0.30
