package render

import "github.com/bankbot/bankbot/bankhooks"

// Sample is a typical event of kind, the first input New validates every
// template with: what a preview shows (the web console's preview page).
func Sample(kind bankhooks.Kind) Data {
	return fixtures(kind)[0].data
}
