package config

import (
	"regexp"
	"strconv"
	"strings"
)

// yamlLineRE finds the line number in a YAML parser message such as
// "While parsing config: yaml: line 3: did not find expected key".
var yamlLineRE = regexp.MustCompile(`^(?:.*?yaml: )?line (\d+): (.*)$`)

// syntaxProblem turns a YAML parse error into a Problem that names the line
// (1-based, as an editor shows it) and, where the lines before it tell, the
// key path around it.
//
// The YAML parser numbers the lines of its parser errors ("did not find
// expected …") from 0 and those of its scanner errors from 1; the parser
// errors are corrected here.
func syntaxProblem(raw []byte, err error) Problem {
	msg := oneLine(err.Error())
	m := yamlLineRE.FindStringSubmatch(strings.TrimPrefix(msg, "While parsing config: "))
	if m == nil {
		return Problem{Msg: "not valid YAML: " + strings.TrimPrefix(strings.TrimPrefix(msg, "While parsing config: "), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	what := m[2]
	lines := strings.Split(string(raw), "\n")
	if strings.HasPrefix(what, "did not find expected") {
		line++
		// The parser names the line where the enclosing block starts when
		// it is not the first: look for the misindented line from there.
		if strings.Contains(what, "expected key") || strings.Contains(what, "'-' indicator") {
			line = misindented(lines, line)
		}
	}
	if line > len(lines) {
		line = len(lines)
	}
	return Problem{Path: pathAtLine(lines, line), Msg: "not valid YAML at line " + strconv.Itoa(line) + ": " + what}
}

// yamlKeyRE matches the key of a "key: value" or "key:" line.
var yamlKeyRE = regexp.MustCompile(`^("[^"]*"|'[^']*'|[^\s#'"{}\[\],:][^:#]*?)\s*:(\s|$)`)

// pathAtLine returns the key path of line n (1-based) of a YAML file from the
// indentation of the lines up to it: the key the line sets, or the innermost
// key it is under. It is a best effort for a file that does not parse: ""
// when it cannot tell.
func pathAtLine(lines []string, n int) string {
	type entry struct {
		indent int
		path   string
		item   bool // a list item: keys at its indent belong to it
		items  int  // list items seen under this key
	}
	var stack []*entry
	top := func() *entry {
		if len(stack) == 0 {
			return &entry{indent: -1}
		}
		return stack[len(stack)-1]
	}
	path := ""
	for i := 0; i < n && i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \r")
		rest := strings.TrimLeft(l, " ")
		if rest == "" || strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, "---") {
			continue
		}
		indent := len(l) - len(rest)
		if strings.HasPrefix(rest, "-") && (len(rest) == 1 || rest[1] == ' ') {
			// A list item; its first key (if any) is at the column after "- ".
			after := strings.TrimLeft(rest[1:], " ")
			k := indent + len(rest) - len(after)
			for len(stack) > 0 && top().indent >= k {
				stack = stack[:len(stack)-1]
			}
			parent := top()
			item := &entry{indent: k, path: index(parent.path, parent.items), item: true}
			parent.items++
			stack = append(stack, item)
			path = item.path
			if km := yamlKeyRE.FindStringSubmatch(after); km != nil {
				e := &entry{indent: k, path: join(item.path, unquote(km[1]))}
				stack = append(stack, e)
				path = e.path
			}
			continue
		}
		km := yamlKeyRE.FindStringSubmatch(rest)
		if km == nil {
			path = top().path // a continued value
			continue
		}
		for len(stack) > 0 && (top().indent > indent || (top().indent == indent && !top().item)) {
			stack = stack[:len(stack)-1]
		}
		e := &entry{indent: indent, path: join(top().path, unquote(km[1]))}
		stack = append(stack, e)
		path = e.path
	}
	return path
}

func unquote(k string) string {
	if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') {
		return strings.ToLower(k[1 : len(k)-1])
	}
	return strings.ToLower(k) // viper lowercases keys
}

// misindented returns the first line from line from (1-based) on whose
// indentation matches no open block, or from when there is none.
func misindented(lines []string, from int) int {
	levels := []int{0}
	opens := false // the previous line ends with ":": a nested block may start
	for i, l := range lines {
		l = strings.TrimRight(l, " \r")
		rest := strings.TrimLeft(l, " ")
		if rest == "" || strings.HasPrefix(rest, "#") {
			continue
		}
		j := len(l) - len(rest)
		for len(levels) > 1 && levels[len(levels)-1] > j {
			levels = levels[:len(levels)-1]
		}
		top := levels[len(levels)-1]
		isItem := strings.HasPrefix(rest, "-") && (len(rest) == 1 || rest[1] == ' ')
		switch {
		case j == top:
		case j > top && opens:
			levels = append(levels, j)
		default:
			if i+1 >= from {
				return i + 1
			}
		}
		if isItem {
			after := strings.TrimLeft(rest[1:], " ")
			if after != "" {
				levels = append(levels, j+len(rest)-len(after))
			}
			rest = after
		}
		code := rest
		if k := strings.Index(code, " #"); k >= 0 {
			code = code[:k]
		}
		code = strings.TrimRight(code, " ")
		opens = strings.HasSuffix(code, ":") || code == "" || strings.HasSuffix(code, "|") || strings.HasSuffix(code, ">")
	}
	return from
}
