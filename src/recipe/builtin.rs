//! The recipes shipped in `recipes/`, embedded in the binary.

/// `(file name, TOML text)` for every built-in recipe, in code order.
pub const BUILTIN_RECIPES: [(&str, &str); 4] = [
    ("recipes/django-orm.toml", include_str!("../../recipes/django-orm.toml")),
    ("recipes/jwt-tokens.toml", include_str!("../../recipes/jwt-tokens.toml")),
    ("recipes/django-cache.toml", include_str!("../../recipes/django-cache.toml")),
    ("recipes/django-auth.toml", include_str!("../../recipes/django-auth.toml")),
];
