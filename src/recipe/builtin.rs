//! The recipes shipped in `recipes/`, embedded in the binary.

/// `(file name, TOML text)` for every built-in recipe, in code order.
pub const BUILTIN_RECIPES: [(&str, &str); 22] = [
    ("recipes/django-orm.toml", include_str!("../../recipes/django-orm.toml")),
    ("recipes/jwt-tokens.toml", include_str!("../../recipes/jwt-tokens.toml")),
    ("recipes/django-cache.toml", include_str!("../../recipes/django-cache.toml")),
    ("recipes/django-auth.toml", include_str!("../../recipes/django-auth.toml")),
    ("recipes/project-helpers.toml", include_str!("../../recipes/project-helpers.toml")),
    ("recipes/model-instance.toml", include_str!("../../recipes/model-instance.toml")),
    ("recipes/lazy-relations.toml", include_str!("../../recipes/lazy-relations.toml")),
    ("recipes/queryset-evaluation.toml", include_str!("../../recipes/queryset-evaluation.toml")),
    ("recipes/transaction-atomic.toml", include_str!("../../recipes/transaction-atomic.toml")),
    ("recipes/drf.toml", include_str!("../../recipes/drf.toml")),
    ("recipes/django-connections.toml", include_str!("../../recipes/django-connections.toml")),
    ("recipes/django-cursor.toml", include_str!("../../recipes/django-cursor.toml")),
    ("recipes/django-test-client.toml", include_str!("../../recipes/django-test-client.toml")),
    ("recipes/native-migration.toml", include_str!("../../recipes/native-migration.toml")),
    ("recipes/factory-boy.toml", include_str!("../../recipes/factory-boy.toml")),
    ("recipes/async-to-sync.toml", include_str!("../../recipes/async-to-sync.toml")),
    ("recipes/django-request-user.toml", include_str!("../../recipes/django-request-user.toml")),
    ("recipes/django-forms.toml", include_str!("../../recipes/django-forms.toml")),
    ("recipes/django-templates.toml", include_str!("../../recipes/django-templates.toml")),
    ("recipes/service-objects.toml", include_str!("../../recipes/service-objects.toml")),
    ("recipes/sqlalchemy-lazy-load.toml", include_str!("../../recipes/sqlalchemy-lazy-load.toml")),
    ("recipes/sqlalchemy-expired.toml", include_str!("../../recipes/sqlalchemy-expired.toml")),
];
