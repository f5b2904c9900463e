package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTemplatesDirAlias: top-level templates_dir is templates.dir by
// another name; both naming different directories is a problem.
func TestTemplatesDirAlias(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tpl"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	for _, tc := range []struct{ name, yaml, want, problem string }{
		{"alias alone", "templates_dir: tpl\n", filepath.Join(dir, "tpl"), ""},
		{"templates.dir alone", "templates:\n  dir: tpl\n", filepath.Join(dir, "tpl"), ""},
		{"both, the same", "templates_dir: ./tpl\ntemplates:\n  dir: tpl/\n", filepath.Join(dir, "tpl"), ""},
		{"neither", "", "", ""},
		{"both, different", "templates_dir: tpl\ntemplates:\n  dir: other\n", "",
			`templates_dir: is another name of templates.dir, which names a different directory ("tpl", "other"): keep one`},
		{"alias to a missing directory", "templates_dir: nope\n", "", "templates.dir: cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base(tc.yaml)), dir, env(nil))
			if tc.problem != "" {
				require.Error(t, err)
				require.Contains(t, "\n"+err.Error(), "\n"+tc.problem)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Templates.Dir)
		})
	}
}
