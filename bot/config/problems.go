package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a config, at a key path such as
// "sources.opn.secrets[1].expires".
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems is every problem found in one config; it is an error with one line
// per problem.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Lines returns one line per problem, in a stable order.
func (ps Problems) Lines() []string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return lines
}

// problems collects Problems while walking a config.
type problems struct{ list Problems }

func (c *problems) add(path, format string, args ...any) {
	c.list = append(c.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// merge adds the problems of more whose path has none in c yet: a value
// already reported (an unset environment variable) is not reported again as
// "required".
func (c *problems) merge(more problems) {
	seen := make(map[string]bool, len(c.list))
	for _, p := range c.list {
		seen[p.Path] = true
	}
	for _, p := range more.list {
		if !seen[p.Path] {
			c.list = append(c.list, p)
		}
	}
}

func (c *problems) err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return c.list[i].Path < c.list[j].Path })
	return c.list
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
