//! The skim's logical-line scan on shapes that trip line-based scanners.

use super::{skim, unclosed_bracket};

fn skimmed(text: &str) -> Option<String> {
    let skimmed = skim(text, &[])?;
    assert_eq!(skimmed.text.len(), text.len());
    let tree = crate::parse::parse_ranges(&skimmed.text, &skimmed.ranges).expect("not cancelled");
    assert!(super::stubs_hold(&tree, &skimmed.stubs), "{:?}", skimmed.text);
    // What the parser read, with the left-out bodies as blank lines.
    let mut read = String::new();
    let mut at = 0;
    for range in &skimmed.ranges {
        read.extend(text[at..range.start_byte].chars().map(|c| if c == '\n' || c == '\r' { c } else { ' ' }));
        read.push_str(&skimmed.text[range.start_byte..range.end_byte]);
        at = range.end_byte;
    }
    Some(read)
}

#[test]
fn unreferenced_sync_bodies_are_blanked() {
    let text = "import x\n\ndef unused(a):\n    b = a + 1\n    return b\n\nasync def view():\n    return 1\n";
    let expected = "import x\n\ndef unused(a):\n    0        \n            \n\nasync def view():\n    return 1\n";
    assert_eq!(skimmed(text).as_deref(), Some(expected));
}

#[test]
fn named_bodies_stay_and_what_they_name_stays_too() {
    let text = "def a():\n    return b()\n\ndef b():\n    return 1\n\ndef c():\n    return 2\n\n\
                async def view():\n    return a()\n";
    let out = skimmed(text).expect("skimmed");
    assert!(out.contains("return b()") && out.contains("return 1"), "{out}");
    assert!(!out.contains("return 2"), "{out}");
}

#[test]
fn methods_dunders_strings_and_nested_async_stay() {
    let text = concat!(
        "class A:\n",
        "    def __init__(self):\n",
        "        self.x = 1\n",
        "\n",
        "    def called(self):\n",
        "        return 1\n",
        "\n",
        "    def by_string(self):\n",
        "        return 2\n",
        "\n",
        "    def outer(self):\n",
        "        async def inner():\n",
        "            pass\n",
        "        return inner\n",
        "\n",
        "async def view(a):\n",
        "    getattr(a, 'by_string')\n",
        "    return a.called()\n",
    );
    assert_eq!(skim(text, &[]).map(|skimmed| skimmed.text), None);
}

#[test]
fn test_set_up_bodies_stay() {
    let text = concat!(
        "class T(TestCase):\n",
        "    def setUp(self):\n",
        "        self.user = User.objects.create()\n",
        "\n",
        "    @classmethod\n",
        "    def setUpTestData(cls):\n",
        "        cls.shelf = Shelf.objects.create()\n",
        "\n",
        "    def tearDown(self):\n",
        "        self.user = None\n",
        "\n",
        "    async def test_save(self):\n",
        "        self.user.save()\n",
    );
    let out = skimmed(text).expect("skimmed");
    assert!(out.contains("self.user = User") && out.contains("cls.shelf = Shelf"), "{out}");
    assert!(!out.contains("self.user = None"), "{out}");
}

#[test]
fn bodies_inside_async_functions_stay() {
    let text = "async def view():\n    def helper():\n        return 1\n    return 2\n";
    assert!(skim(text, &[]).is_none());
}

#[test]
fn strings_brackets_and_continuations_are_followed() {
    let text = "def unused():\n    x = '''\nasync def not_code():\n'''\n    y = (1,\n2)\n    z = f\"{x['}']}\" \\\n        \
                + 'a#b'  # comment\n\nasync def view():\n    return 1\n";
    let out = skimmed(text).expect("skimmed");
    assert!(out.ends_with("\n\nasync def view():\n    return 1\n"), "{out}");
    assert!(!out.contains("not_code"), "{out}");
}

#[test]
fn unsure_scans_skim_nothing() {
    let unsure = [
        // Tabs and spaces mixed in indentation.
        "def unused():\n\treturn 1\n\nclass A:\n    async def view(self):\n        return 1\n",
        // A lone carriage return.
        "def unused():\r    return 1\r\rasync def view():\r    return 1\r",
        // A 3.12 f-string nesting its own quote.
        "def unused():\n    return f\"{d[\"k\"]}\"\n\nasync def view():\n    return 1\n",
        // Unterminated.
        "def unused():\n    return 'x\n\nasync def view():\n    return 1\n",
        "def unused():\n    return (1\n\nasync def view():\n    return 1\n",
    ];
    for text in unsure {
        assert!(skim(text, &[]).is_none(), "{text:?}");
    }
}

#[test]
fn crlf_and_one_line_bodies() {
    let text = "def unused():\r\n    return 1\r\ndef short(): return 2\r\nasync def view():\r\n    return 1\r\n";
    let out = skimmed(text).expect("skimmed");
    assert_eq!(out, "def unused():\r\n    0       \r\ndef short(): return 2\r\nasync def view():\r\n    return 1\r\n");
}

#[test]
fn dispatch_hooks_keep_their_bodies() {
    let text = concat!(
        "class S(Serializer):\n",
        "    def create(self, data):\n",
        "        return Book.objects.create(**data)\n",
        "\n",
        "async def view(s):\n",
        "    s.save()\n",
    );
    let blanked = skimmed(text).expect("`create` is named nowhere else: blanked");
    assert!(!blanked.contains("Book.objects"));
    assert_eq!(skim(text, &["create"]).map(|skimmed| skimmed.text), None, "a hook's body stays");
}

#[test]
fn the_first_bracket_never_closed_is_found_outside_strings_and_comments() {
    let text = b"x = f(')', \"]\")  # (\ny = [1,\n     {2: (3)}\nz = (\n";
    assert_eq!(unclosed_bracket(text), Some(25), "the `[` of line 2");
    assert_eq!(unclosed_bracket(b"a = (1, [2])\nb = f'{c}('\n"), None);
    // A stray closer or an unterminated string: unsure.
    assert_eq!(unclosed_bracket(b"a = 1)\nb = (\n"), None);
    assert_eq!(unclosed_bracket(b"a = ('\n"), None);
}
