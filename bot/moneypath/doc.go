// Package moneypath has no code: its test reads the Go source of every
// money path (amount parsing in bankhooks, formatting in bot/render, the
// store's amount columns, digest and summary totals, min_amount thresholds,
// amount confirmation) and fails if any of it uses floating point.
package moneypath
