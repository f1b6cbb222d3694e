package store

import "strings"

// token is one lexical unit of a ClickHouse statement, as the cluster
// rewrite needs it: words (identifiers and keywords, backtick- or
// double-quoted identifiers included), string literals, numbers and
// punctuation. Whitespace and comments are not tokens; the rewrite copies
// the text between tokens unchanged.
type token struct {
	kind       tokenKind
	text       string // as written
	start, end int    // byte offsets in the statement
	depth      int    // parentheses open before the token
}

type tokenKind int

const (
	tokWord   tokenKind = iota // identifier or keyword, quoted or not
	tokString                  // 'literal'
	tokNumber
	tokPunct // one byte: ( ) , = ; . and the rest
)

// is reports whether t is the unquoted word w, case-insensitively.
func (t token) is(w string) bool {
	return t.kind == tokWord && t.text[0] != '`' && t.text[0] != '"' && strings.EqualFold(t.text, w)
}

// ident is the name a word token stands for, without its quotes.
func (t token) ident() string {
	if t.kind != tokWord {
		return ""
	}
	if n := len(t.text); n >= 2 && (t.text[0] == '`' || t.text[0] == '"') {
		q := t.text[0]
		body := t.text[1 : n-1]
		body = strings.ReplaceAll(body, `\`+string(q), string(q))
		return strings.ReplaceAll(body, string(q)+string(q), string(q))
	}
	return t.text
}

// tokenize splits a statement into tokens, skipping whitespace, -- and #
// line comments and /* */ block comments. Unbalanced parentheses or an
// unterminated quote are reported as ok = false.
func tokenize(s string) (toks []token, ok bool) {
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '#':
			i = skipTo(s, i, "\n")
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, false
			}
			i += j + 4
		case c == '\'' || c == '`' || c == '"':
			j := skipQuoted(s, i)
			if j >= len(s) {
				return nil, false
			}
			kind := tokWord
			if c == '\'' {
				kind = tokString
			}
			toks = append(toks, token{kind: kind, text: s[i : j+1], start: i, end: j + 1, depth: depth})
			i = j + 1
		case isWordByte(c) && (c < '0' || c > '9'):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], start: i, end: j, depth: depth})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tokNumber, text: s[i:j], start: i, end: j, depth: depth})
			i = j
		default:
			if c == ')' {
				depth--
				if depth < 0 {
					return nil, false
				}
			}
			toks = append(toks, token{kind: tokPunct, text: s[i : i+1], start: i, end: i + 1, depth: depth})
			if c == '(' {
				depth++
			}
			i++
		}
	}
	return toks, depth == 0
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// closing returns the index of the ')' that closes the '(' at toks[open].
func closing(toks []token, open int) int {
	for j := open + 1; j < len(toks); j++ {
		if toks[j].depth == toks[open].depth && toks[j].text == ")" {
			return j
		}
	}
	return -1
}

// findWord returns the index of the first unquoted word w at depth, from
// index from on, or -1.
func findWord(toks []token, from, depth int, w string) int {
	for j := from; j < len(toks); j++ {
		if toks[j].depth == depth && toks[j].is(w) {
			return j
		}
	}
	return -1
}

// exprIdents lists the distinct identifiers of an expression's tokens that
// are not function names (not followed by '('), in order.
func exprIdents(toks []token) []string {
	var out []string
	for j, t := range toks {
		if t.kind != tokWord || j+1 < len(toks) && toks[j+1].text == "(" {
			continue
		}
		name := t.ident()
		seen := false
		for _, o := range out {
			seen = seen || o == name
		}
		if !seen {
			out = append(out, name)
		}
	}
	return out
}
