{{ stage_marketplace(
    'bukalapak',
    fields={
        'shop_name': 'name', 'owner_name': 'owner', 'phone': 'phone', 'email': 'email',
        'street': 'address.street', 'city': 'address.city', 'province': 'address.province',
        'tier': 'level', 'category': 'category', 'product_count': 'products', 'licence': 'nib',
        'opened': 'created_at', 'last_active': 'last_login_at', 'status': 'state',
        'updated': 'updated_at'
    },
    formats={'opened': 'iso8601', 'last_active': 'iso8601'},
    brand_tiers=['brand'],
    closed_statuses=['closed']
) }}
