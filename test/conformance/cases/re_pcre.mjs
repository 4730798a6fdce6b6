// ngx.re on PCRE: syntax the reference's PCRE (8.39) has and a RegExp translation cannot (\\K,
// recursion and subroutine calls, conditionals, branch reset, verbs, Unicode properties), the
// answers PCRE gives (captures in repeated groups, back references to unset groups, case folding,
// \\X, \\R, \\C, \\G, D), its compile errors with the reference's 127-byte cut, JIT and DFA
// modes, and the limits (lua_regex_match_limit, the JIT stack, the compiled-pattern cache). Every
// expectation was printed by the reference (ref-run); bodies are compared as latin1.
import { lua } from '../lib.mjs';

const DUMP = "local function S(v, d)\n  d = d or 0\n  if type(v) == \"string\" then return string.format(\"%q\", v) end\n  if type(v) ~= \"table\" then return tostring(v) end\n  local ks = {}\n  for k in pairs(v) do ks[#ks+1] = k end\n  table.sort(ks, function(a, b) if type(a) == type(b) then return a < b end return type(a) == \"number\" end)\n  local o = {}\n  for _, k in ipairs(ks) do o[#o+1] = (type(k) == \"string\" and k or \"[\" .. tostring(k) .. \"]\") .. \"=\" .. S(v[k], d + 1) end\n  return \"{\" .. table.concat(o, \",\") .. \"}\"\nend\nlocal function T(label, f)\n  local r = { pcall(f) }\n  local n = table.maxn(r)\n  if r[1] then local o = {} for i = 2, math.max(n, 2) do o[#o+1] = S(r[i]) end ngx.say(label, \" => \", table.concat(o, \" \"))\n  else ngx.say(label, \" !! \", tostring(r[2])) end\nend\n";
const T = (label, expr) => `T([==[${label}]==], function() return ${expr} end)`;

export default [
  {
    name: "pcre k1 k2 r1 r2 r3 c1",
    server: lua([DUMP,
      T("k1", "ngx.re.match(\"foobar\", [[foo\\Kbar]])"),
      T("k2", "ngx.re.gsub(\"price: 100 dollars\", [[price: \\K\\d+]], \"X\")"),
      T("r1", "ngx.re.match(\"((()))\", [[\\((?:[^()]|(?R))*\\)]])"),
      T("r2", "ngx.re.match(\"192.168.1.1\", [[^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?1)){3}$]])"),
      T("r3", "ngx.re.match(\"abcabc\", [[(?<w>abc)(?&w)]])"),
      T("c1", "ngx.re.match(\"<a>\", [[^(<)?a(?(1)>)$]])"),
    ].join('\n')),
    body: "k1 => {[0]=\"bar\"}\nk2 => \"price: X dollars\" 1\nr1 => {[0]=\"((()))\"}\nr2 => {[0]=\"192.168.1.1\",[1]=\"192\"}\nr3 => {[0]=\"abcabc\",[1]=\"abc\",w=\"abc\"}\nc1 => {[0]=\"<a>\",[1]=\"<\"}\n",
  },
  {
    name: "pcre c2 b1 v1 v2 p1 p2",
    server: lua([DUMP,
      T("c2", "ngx.re.match(\"a>\", [[^(<)?a(?(1)>)$]])"),
      T("b1", "ngx.re.match(\"xb\", [[(?|(a)|x(b))]])"),
      T("v1", "ngx.re.gsub(\"aaa bbb ccc\", [[bbb(*SKIP)(*F)|\\w+]], \"X\")"),
      T("v2", "ngx.re.match(\"é\", [[(*UCP)^\\w$]], \"u\")"),
      T("p1", "ngx.re.match(\"a1_\", [[^\\p{Xan}+]], \"u\")"),
      T("p2", "ngx.re.match(\"Ωx\", [[\\p{Greek}]], \"u\")"),
    ].join('\n')),
    body: "c2 => nil\nb1 => {[0]=\"xb\",[1]=\"b\"}\nv1 => \"X bbb X\" 2\nv2 => {[0]=\"\u00c3\u00a9\"}\np1 => {[0]=\"a1\"}\np2 => {[0]=\"\u00ce\u00a9\"}\n",
  },
  {
    name: "pcre g1 g2 g3 i1 i2 i3",
    server: lua([DUMP,
      T("g1", "ngx.re.match(\"ab\", [[(?:(a)|b)+]])"),
      T("g2", "ngx.re.match(\"b\", [[(a)?\\1]])"),
      T("g3", "ngx.re.match(\"aaab\", [[(?>a+)+b]])"),
      T("i1", "ngx.re.match(\"aA\", [[(a)(?i)\\1]])"),
      T("i2", "ngx.re.match(\"ΣΑΣ\", [[^σας$]], \"iu\")"),
      T("i3", "ngx.re.match(\"straße\", \"STRASSE\", \"iu\")"),
    ].join('\n')),
    body: "g1 => {[0]=\"ab\",[1]=\"a\"}\ng2 => nil\ng3 => {[0]=\"aaab\"}\ni1 => {[0]=\"aA\",[1]=\"a\"}\ni2 => {[0]=\"\u00ce\u00a3\u00ce\u0091\u00ce\u00a3\"}\ni3 => nil\n",
  },
  {
    name: "pcre x1 x2 x3 x4 d1 u1",
    server: lua([DUMP,
      T("x1", "ngx.re.match(\"e\\204\\129x\", [[^\\X]], \"u\")"),
      T("x2", "ngx.re.gsub(\"a\\r\\nb\\nc\\rd\", [[\\R]], \"|\")"),
      T("x3", "ngx.re.match(\"é\", [[^\\C]], \"u\")"),
      T("x4", "ngx.re.gsub(\"aab\", [[\\Ga]], \"X\")"),
      T("d1", "ngx.re.match(\"aa\", [[(?<n>a)(?<n>b)?\\k<n>]], \"D\")"),
      T("u1", "ngx.re.match(\"\\255abc\", \"abc\", \"U\")"),
    ].join('\n')),
    body: "x1 => {[0]=\"e\u00cc\u0081\"}\nx2 => \"a|b|c|d\" 3\nx3 => {[0]=\"\u00c3\"}\nx4 => \"XXb\" 2\nd1 => {[0]=\"aa\",[1]=\"a\",[2]=false,n={[1]=\"a\"}}\nu1 => {[0]=\"abc\"}\n",
  },
  {
    name: "pcre u2 e1 e2 e3 e4 e5",
    server: lua([DUMP,
      T("u2", "ngx.re.match(\"\\255abc\", \"abc\", \"u\")"),
      T("e1", "ngx.re.match(\"ab\", [[(?<=a+)b]])"),
      T("e2", "ngx.re.match(\"ab\", [[\\u0061]])"),
      T("e3", "ngx.re.match(\"ab\", [[\\L]])"),
      T("e4", "ngx.re.match(\"ab\", [[\\N{U+0061}]])"),
      T("e5", "ngx.re.match(\"ab\", [[\\c]])"),
    ].join('\n')),
    body: "u2 => nil \"pcre_exec() failed: -10\"\ne1 => nil \"pcre_compile() failed: lookbehind assertion is not fixed length in \\\"(?<=a+)b\\\" at \\\")b\\\"\"\ne2 => nil \"pcre_compile() failed: PCRE does not support \\\\L, \\\\l, \\\\N{name}, \\\\U, or \\\\u in \\\"\\\\u0061\\\" at \\\"u0061\\\"\"\ne3 => nil \"pcre_compile() failed: PCRE does not support \\\\L, \\\\l, \\\\N{name}, \\\\U, or \\\\u in \\\"\\\\L\\\" at \\\"L\\\"\"\ne4 => nil \"pcre_compile() failed: PCRE does not support \\\\L, \\\\l, \\\\N{name}, \\\\U, or \\\\u in \\\"\\\\N{U+0061}\\\" at \\\"N{U+0061}\\\"\"\ne5 => nil \"pcre_compile() failed: \\\\c at end of pattern in \\\"\\\\c\\\"\"\n",
  },
  {
    name: "pcre e6 j1 j2 j3 d2 d3",
    server: lua([DUMP,
      T("e6", "ngx.re.match(\"x\", \"(\" .. string.rep(\"abcdefghij\", 14) .. \"[\")"),
      T("j1", "ngx.re.match(\"hello 123\", [[(\\d+)]], \"j\")"),
      T("j2", "ngx.re.find(\"hello 123 456\", [[\\d+]], \"jo\", nil, 0)"),
      T("j3", "ngx.re.gsub(\"a1b22c333\", [[\\d+]], function(m) return \"<\" .. #m[0] .. \">\" end, \"jo\")"),
      T("d2", "ngx.re.match(\"abcb\", \"b.*\", \"d\")"),
      T("d3", "ngx.re.match(\"abcb\", \"(b)(.*)\", \"d\")"),
    ].join('\n')),
    body: "e6 => nil \"pcre_compile() failed: missing terminating ] for character class in \\\"(abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefg\"\nj1 => {[0]=\"123\",[1]=\"123\"}\nj2 => 7 9\nj3 => \"a<1>b<2>c<3>\" 3\nd2 => {[0]=\"bcb\"}\nd3 => {[0]=\"bcb\"}\n",
  },
  {
    name: "pcre n1 m1 m2 m3 m4 m5",
    server: lua([DUMP,
      T("n1", "ngx.re.match(\"2024-12-02\", [[(?<y>\\d+)-(?<m>\\d+)-(?<d>\\d+)]], \"jo\")"),
      T("m1", "(function() local t = {} for m in ngx.re.gmatch(\"k1=v1; k2=v2; k3=v3\", [[(\\w+)=(\\w+)]], \"jo\") do t[#t+1] = m[1] .. \":\" .. m[2] end return table.concat(t, \",\") end)()"),
      T("m2", "ngx.re.match(\"x\", \"x\", \"jx\")"),
      T("m3", "ngx.re.match(\"A\\nB\", \"^b$\", \"mi\")"),
      T("m4", "ngx.re.match(\"a\\nb\", \"a.b\", \"s\")"),
      T("m5", "ngx.re.match(\"ab\", \"b\", \"a\")"),
    ].join('\n')),
    body: "n1 => {[0]=\"2024-12-02\",[1]=\"2024\",[2]=\"12\",[3]=\"02\",d=\"02\",m=\"12\",y=\"2024\"}\nm1 => \"k1:v1,k2:v2,k3:v3\"\nm2 => {[0]=\"x\"}\nm3 => {[0]=\"B\"}\nm4 => {[0]=\"a\\\nb\"}\nm5 => nil\n",
  },
  {
    name: "pcre m6",
    server: lua([DUMP,
      T("m6", "ngx.re.match(\"ab\", \"(?<n>a)\", \"J\")"),
    ].join('\n')),
    body: "m6 => {[0]=\"a\",[1]=\"a\",n=\"a\"}\n",
  },
  {
    name: 'lua_regex_match_limit: a match that backtracks past the limit fails with -8 (not in DFA mode)',
    http: 'lua_regex_match_limit 1000;',
    server: lua(`ngx.say(ngx.re.match(string.rep("a", 3000), "(a|b)*c")) ngx.say(ngx.re.match(string.rep("a", 3000), "(a|b)*c", "o"))
      ngx.say(ngx.re.find(string.rep("a", 3000), "(a|b)*c", "d"))`),
    body: 'nilpcre_exec() failed: -8\nnilpcre_exec() failed: -8\nnil\n',
  },
  {
    name: 'the JIT stack: -27 when it is exhausted; ngx.re.opt("jit_stack_size") refused once a pattern is cached',
    server: lua(`ngx.say(ngx.re.match(string.rep("a", 200000), "(a|b)*c", "j"))
      ngx.re.match("x", "x", "o") ngx.say(pcall(require("ngx.re").opt, "jit_stack_size", 200000))`),
    body: 'nilpcre_exec() failed: -27\nfalsechanging jit stack size is not allowed when some regexs have already been compiled and cached\n',
  },
  {
    name: 'ngx.re.opt("jit_stack_size") in a fresh worker: a larger JIT stack matches what the default one cannot',
    // an http block of its own: a worker where no pattern was cached yet
    http: 'lua_regex_cache_max_entries 1000;',
    server: lua(`ngx.say(pcall(require("ngx.re").opt, "jit_stack_size", 20000000)) ngx.say(#ngx.re.match(string.rep("a", 200000) .. "c", "(a|b)*c", "j")[0])`),
    body: 'true\n200001\n',
  },
  {
    name: 'lua_regex_cache_max_entries 0: nothing is cached, so the JIT stack may still change',
    http: 'lua_regex_cache_max_entries 0;',
    server: lua(`ngx.re.match("x", "x", "o") ngx.say(pcall(require("ngx.re").opt, "jit_stack_size", 200000)) ngx.say(ngx.re.match("abc", "b", "jo")[0])`),
    body: 'true\nb\n',
  },
  {
    name: 'the directives take a number',
    conf: true,
    http: 'lua_regex_match_limit 100; lua_regex_cache_max_entries 64;',
    server: lua(`ngx.say(ngx.re.match("aaa", "a+")[0])`),
    body: 'aaa\n',
  },
  {
    name: 'ours: a match that would recurse past the C stack fails with -21 (the reference\'s worker dies of it)',
    only: 'ours',
    server: lua(`ngx.say(ngx.re.match(string.rep("a", 200000), "(a|b)*c")) ngx.say(ngx.re.match("still alive", "alive")[0])`),
    body: 'nilpcre_exec() failed: -21\nalive\n',
  },
];
