"""Storefront rendering: the Jinja environments, the default theme, filters and view models.

Sees only plain data (view models built from catalog/tenant records passed in by
the web layer); does no I/O and imports nothing from ``origin/``. May import
jinja2, markupsafe, babel and nh3.

    environment.py  the default-theme Environment and the sandboxed per-tenant one
    rendering.py    ThemeRenderer: picks the environment, falls back on broken overrides
    chrome.py       {% sitechrome %}: the page chrome rendered once per shop, then reused
    money.py        currency/locale formatting (Babel)
    budget.py       the render budget of tenant templates (steps, characters, time; issue 13)
    merchant_html.py  product and collection description HTML cleaned to an allow-list (nh3)
    theme.py        per-tenant theme settings (colours, logo, hero) validated into a ThemeView
    views.py        view models for pages, built from catalog models
    themes/default  the default theme's templates; assets/ static files served at /assets/
"""
