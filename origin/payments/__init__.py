"""Payment providers behind one protocol (issue 15): ``manual`` and Stripe.

    providers.py  the PaymentProvider protocol, its results and errors, the manual provider
    stripe.py     Stripe Checkout Sessions / PaymentIntents / Refunds through the official ``stripe`` package,
                  and the ``Stripe-Signature`` webhook check

Providers are called only outside a database transaction (no row lock is held across a call to the
provider). May import origin.settings and origin.errors only.
"""
