{{ stage_marketplace(
    'lazada',
    fields={
        'shop_name': 'shop_name', 'owner_name': 'owner_name', 'phone': 'phone', 'email': 'email',
        'street': 'address', 'city': 'city', 'province': 'province', 'tier': 'tier',
        'category': 'category', 'product_count': 'product_count', 'licence': 'nib',
        'opened': 'joined_at', 'last_active': 'last_active_at', 'status': 'status',
        'updated': 'updated_at'
    },
    formats={'opened': 'iso8601', 'last_active': 'iso8601'},
    brand_tiers=['official'],
    closed_statuses=['closed']
) }}
