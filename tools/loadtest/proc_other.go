//go:build !linux

package main

import "syscall"

// childSysProcAttr has nothing to set outside Linux; the tool's /proc
// measurements are Linux-only anyway and report "n/a" elsewhere.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
