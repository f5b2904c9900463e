package main

import "syscall"

// childSysProcAttr makes a server child die with the load tool, so an
// interrupted run leaves no server behind.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
