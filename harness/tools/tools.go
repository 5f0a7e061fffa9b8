//go:build tools

// Package tools pins the Go tools the test run itself uses (not images): actionlint checks the
// GitHub workflows (harness/tools/tools.ts builds it into the forge's bin directory).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
