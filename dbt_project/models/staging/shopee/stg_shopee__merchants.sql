{{ stage_marketplace(
    'shopee',
    fields={
        'shop_name': 'shop_name', 'owner_name': 'owner_name', 'phone': 'phone', 'email': 'email',
        'street': 'address', 'city': 'city', 'province': 'province', 'tier': 'shop_type',
        'category': 'category', 'product_count': 'item_count', 'licence': 'business_license',
        'opened': 'ctime', 'last_active': 'last_active', 'status': 'status'
    },
    formats={'opened': 'unix_seconds', 'last_active': 'unix_seconds'},
    brand_tiers=['mall'],
    closed_statuses=['BANNED', 'FROZEN']
) }}
