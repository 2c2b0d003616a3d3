{{ stage_marketplace(
    'mataharimall',
    fields={
        'shop_name': 'nama_toko', 'owner_name': 'nama_pemilik', 'phone': 'telepon',
        'email': 'email', 'street': 'alamat', 'city': 'kota', 'province': 'provinsi',
        'tier': 'tipe', 'category': 'kategori', 'product_count': 'jumlah_produk', 'licence': 'nib',
        'opened': 'tgl_bergabung', 'last_active': 'aktif_terakhir', 'status': 'status'
    },
    formats={'opened': 'dd/mm/yyyy', 'last_active': 'dd/mm/yyyy'},
    brand_tiers=['resmi'],
    closed_statuses=['tutup']
) }}
