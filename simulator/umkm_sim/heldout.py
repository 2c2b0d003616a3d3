"""The held-out noise profile (`--profile heldout`): the same world written by other hands.

The default profile is what the pipeline's matcher is tuned on; this one is for measuring
it: other shop-name words, other owner names (Javanese, Sundanese, Batak, Minang, Bugis,
Chinese-Indonesian, Arabic-derived, Balinese, eastern Indonesian), other category words on
every platform, other streets and address styles, real kecamatan and kelurahan names, and
variations the default profile never makes (legal forms spelled out or at the end,
honorifics and degrees, initials, dropped and swapped names, province short forms, regency
aliases, phones with dots, businesses without phone and e-mail on some records). Every
variation class appears at a rate of `umkm_sim.config.NoiseProfile` (docs/SIMULATOR.md,
"Noise profiles").

The world (entities, accounts, registry, e-Smart rows, invalid records, ids, dates) is the
default profile's, so truth/records.csv and the bridge are the same for both profiles;
only the free text differs. The planted invalid records are written as in the default
profile. As there, every text is derived from hashes of (seed, entity) or (seed, record),
so a page is rendered from its own rows and the same seed gives the same bytes; the
vocabulary holds no quote, backslash or control character (JSON is formatted directly).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umkm_sim import config as C
from umkm_sim.render import (
    AREA,
    ISO_DATES,
    MOBILE,
    Renderer,
    _bits,
    mix,
    registry_ids,
)
from umkm_sim.world import Platform, Regions, World


def _w(text: str) -> list[str]:
    return text.split()


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.split(";") if x.strip()]


# --- vocabularies (none of these words is in the default profile's lists) ------------------

#: first and second words of shop names, and optional third words
SHOP_W1 = _w(
    "Tirta Sekar Arum Wangi Mekar Gemah Ripah Tentrem Ayem Rukun Guyub Santosa Widya Graha "
    "Lintang Candra Mentari Samudra Bumi Intan Zamrud Giri Wana Puspa Ratu Raja Srikandi "
    "Arjuna Semar Dewata Nirwana Merapi Bromo Rinjani Toba Cendana Gaharu Beringin Waringin "
    "Nyiur Kenari Merak Rajawali Garuda Elang Kijang Sriwijaya Mataram Pajang Galuh Singosari "
    "Kutai Gowa Lembayung Pelita Purnama Bahtera Dirgantara"
)
SHOP_W2 = _w(
    "Raharja Rejo Mulyo Waras Mandala Perdana Sentausa Wibawa Unggul Berseri Ceria Bahagia "
    "Sakinah Fortuna Lumintu Tentram Sumringah Sehati Idaman Pertiwi Bestari Sembada Setia "
    "Karunia Berkat Sinergi Harmoni Kencono Langgeng Widuri Kinasih"
)
SHOP_W3 = _w(
    "Olshop Indo Group Express Plus Surabaya Semarang Yogya Cirebon Tasik Kudus Klaten "
    "Sidoarjo Batam Pontianak Manado Kendari Lombok Kupang Ambon Palembang Pekanbaru Banjar "
    "Samarinda 2000 86 123 45 17"
)
#: nouns of the 15 categories (the nine e-Smart commodities first, then six others)
SHOP_NOUNS = [
    _lines("Rias; Lulur; Spa; Make Up; Body Care; Parfum; Wangi Wangian"),
    _lines("Sandang; Busana Muslim; Gamis; Mukena; Songket; Jeans; Sepatu; Tas; Kebaya; Distro"),
    _lines("Bakpia; Dodol; Pempek; Abon; Kerupuk; Emping; Brownies; Lapis; Bolu; Roti; Catering"),
    _lines("Wedang; Bandrek; Legen; Sekoteng; Jus; Susu; Cokelat; Thai Tea; Dawet"),
    _lines("Batok; Bambu; Tembikar; Keramik; Wayang; Topeng; Rajutan; Sulaman; Lukisan"),
    _lines("Meubel; Interior; Sofa; Lemari; Kursi; Kasur; Spring Bed"),
    _lines("Kalung; Cincin; Gelang; Akik; Giok; Suasa"),
    _lines("Rempah; Temulawak; Kunyit; Jahe; Habbatussauda; Propolis; Ramuan; Telon"),
    _lines("Bubut; Baja; Tempa; Pisau; Golok; Kuningan; Tembaga; Teralis; Kanopi"),
    _lines("Elektro; Handphone; Laptop; Servis HP; Cellular; Kamera"),
    _lines("Sparepart; Ban; Oli; Knalpot; Helm; Jok"),
    _lines("Kelontong; Toserba; Swalayan; Minimarket; Perkakas"),
    _lines("Boneka; Alat Peraga; Puzzle; Layangan; Hobby"),
    _lines("Farmasi; Alat Kesehatan; Optik; Kacamata; Medika"),
    _lines("Kitab; Fotokopi; Percetakan; Alat Tulis; Majalah"),
]
#: legal forms and shop-type words: (usual is the abbreviation, abbreviation, dotted
#: spellings, spelled out). Index 0 is "none".
LEGAL_FORMS = [
    None,
    (True, "UD", ("U.D.", "UD."), "Usaha Dagang"),
    (True, "CV", ("C.V.", "CV."), "Commanditaire Vennootschap"),
    (True, "PT", ("P.T.", "PT."), "Perseroan Terbatas"),
    (False, "Tk", ("Tk.",), "Toko"),
    (False, "Wr", ("Wr.", "Wrg."), "Warung"),
    (False, "Kop", ("Kop.",), "Koperasi"),
]
#: per business: which form, given it has one (UD, CV, PT, Toko, Warung, Koperasi)
LEGAL_WEIGHTS = np.array([0.25, 0.2, 0.05, 0.3, 0.12, 0.08])
EMOJI = ["🏪", "🛒", "💐", "🌟", "🎁", "❤️", "👌", "🥘", "☕", "🧕", "🌺", "🎀"]

#: owner names by group: (weight, male given, female given, family or second names,
#: share of names with a family/second name, share with two given names)
OWNER_GROUPS = [
    (
        0.33,  # Javanese: often one name, or a given name and a second one
        _w(
            "Sutarno Suwarno Parmin Wagiman Sukirno Ngadiman Harjono Mulyono Susilo Purwanto "
            "Suryono Darmaji Sumarno Tukimin Prayitno Triyono Sugiyanto Paimin Sarwono Margono"
        ),
        _w(
            "Suparmi Sumarni Tukiyem Sarmini Tumini Painem Suwarni Sulastri Endang Retno "
            "Sekarsari Ayuningtyas Setyowati Rahayuningsih Kusmiati Wartini Sunarsih Partini"
        ),
        _w(
            "Widodo Prabowo Wibisono Kuncoro Hadiwijoyo Sastrowardoyo Darmawan Pramono "
            "Wicaksono Raharjo Sudarsono Budiman Soebroto Martono Notonegoro Pranoto"
        ),
        0.55,
        0.15,
    ),
    (
        0.15,  # Sundanese
        _w("Dadan Encep Yayan Dede Aan Ade Cahya Jajang Deden Ceceng Engkos Oman Ohim Undang"),
        _w("Cucu Entis Iis Nining Elis Imas Teti Nenden Popon Lilis Yati Enok Euceu"),
        _w(
            "Sutisna Suhendar Kusnadi Sumantri Rukmana Sadikin Permadi Sukmawijaya Nurjaman "
            "Saepudin Ruhiyat Suryana Hermana Solihin"
        ),
        0.7,
        0.0,
    ),
    (
        0.08,  # Batak: given name(s) and marga
        _w("Togar Parlindungan Hotman Maruli Binsar Poltak Sahat Bonar Torang Janter Marihot"),
        _w("Rotua Tiur Lasma Romauli Masniari Dorlan Sondang Tiarma Rosmawati Lamria"),
        _w(
            "Simatupang Hutagalung Situmorang Sihombing Napitupulu Silalahi Marpaung Sitorus "
            "Hutapea Simbolon Tambunan Siahaan Purba Saragih Damanik Gultom Aritonang Sianturi "
            "Pasaribu Lumbantobing Nainggolan Samosir Sidabutar Hutabarat"
        ),
        1.0,
        0.25,
    ),
    (
        0.07,  # Minang
        _w("Zulkifli Syafrizal Yusrizal Afrizal Erizal Jasman Asrul Nofrizal Yulizar Hendri"),
        _w("Yusnimar Nurhayati Yetti Rosmaniar Zuraida Desmawati Elvira Yusmaniar Asniar"),
        _w("Chaniago Piliang Sikumbang Jambak Koto Malayu Datuak"),
        0.35,
        0.2,
    ),
    (
        0.07,  # Bugis and Makassar
        _w("Baso Mappa Lolo Ambo Sompa Muhlis Syamsul Darwis Hamka Rustam"),
        _w("Besse Becce Tenri Indo Sitti Hasnah Hasmawati Nurbaya Salmiah"),
        _w(
            "Mattalatta Pananrangi Palaguna Mangkona Tenriajeng Mappanyukki Lologau Pallawa "
            "Massaile Karaeng Tompo"
        ),
        0.6,
        0.0,
    ),
    (
        0.08,  # Chinese-Indonesian
        _w("Hendrik Suryadi Kevin Vincent Stefanus Agustinus Aling Budiono Kurniadi Willy"),
        _w("Lianawati Meiliana Felicia Jessica Cindy Kristina Lanny Megawati Susana Linda"),
        _w(
            "Tjahjadi Wirawan Gunadi Salim Tanoto Hartono Widjaja Liem Oei Gouw Kwee Tjandra "
            "Sutanto Tanuwidjaja Susanto Halimawan"
        ),
        0.85,
        0.0,
    ),
    (
        0.14,  # Arabic-derived
        _w(
            "Abdurrahman Abdullah Faisal Khairul Ridwan Zulkarnain Syamsuddin Nurdin "
            "Saifullah Alwi Habib Ma'ruf Syarif Mustofa Luthfi Zainuddin"
        ),
        _w(
            "Fatimah Aisyah Khadijah Zainab Ruqayyah Nurul Syarifah Halimah Maryam Rabiah "
            "Mardiyah Sa'diyah"
        ),
        _w(
            "Hidayah Aini Huda Fitriyah Jannah Hamzah Rasyid Ilham Mubarok Assegaf Alatas "
            "Shihab Baswedan Alaydrus Basalamah"
        ),
        0.6,
        0.0,
    ),
    (
        0.04,  # Balinese (title and name)
        _w("Kadek Gusti Bagus Agung"),
        _w("Kadek Luh Sagung Istri"),
        _w(
            "Sukerti Suarta Astawa Mertayasa Widiastuti Sudarsana Sumerta Arsana Jelantik Sudiartha"
        ),
        1.0,
        0.0,
    ),
    (
        0.04,  # eastern Indonesia (Manado, Maluku, NTT)
        _w("Yohanis Frans Lodewijk Marthen Yopi Ferdinand Alfons Hendrikus Semuel"),
        _w("Yuliana Magdalena Agustina Selfina Yosefina Martha Grace Meiske"),
        _w(
            "Wenas Lumenta Pattiasina Manuputty Rumagit Tuhumury Sahetapy Ndoen Fanggidae "
            "Mandagi Pangemanan Rumambi"
        ),
        0.95,
        0.1,
    ),
]
BALI_PREFIX = {"m": ("I", "Ida"), "f": ("Ni", "Ida")}  # "I Kadek ...", "Ni Luh ..."
#: honorifics and degrees: (male spellings, female spellings, after the name)
TITLES = [
    (("Bapak", "Pak", "Bpk."), ("Ibu", "Bu", "Ibu."), False),
    (("H.", "Haji", "H"), ("Hj.", "Hajjah", "Hj"), False),
    (("Dr.",), ("Dr.",), False),
    (("dr.",), ("dr.",), False),
    (("Ir.",), ("Ir.",), False),
    (("Drs.",), ("Dra.",), False),
    (("S.E.", "SE", "S.E"), ("S.E.", "SE", "S.E"), True),
    (("S.Kom.", "S.Kom", "SKom"), ("S.Kom.", "S.Kom", "SKom"), True),
    (("S.Pd.", "S.Pd", "SPd"), ("S.Pd.", "S.Pd", "SPd"), True),
    (("M.M.", "MM"), ("M.M.", "MM"), True),
    (("S.H.", "SH"), ("S.H.", "SH"), True),
]
TITLE_WEIGHTS = np.array([0.45, 0.2, 0.02, 0.02, 0.03, 0.04, 0.08, 0.04, 0.06, 0.03, 0.03])
ALL_TITLE_SPELLINGS = sorted(
    {s for male, female, _after in TITLES for s in (*male, *female)}, key=len, reverse=True
)

#: road names (multi-word, as written on street signs), alleys and housing estates
STREETS = _lines(
    "Pangeran Antasari; Hayam Wuruk; Cut Nyak Dien; Teuku Umar; Dr. Sutomo; KH. Wahid Hasyim; "
    "Raden Saleh; Sultan Agung; Kaliurang; Malioboro; Kebon Jeruk; Cikini; Asia Afrika; "
    "Braga; Dago; Ir. H. Juanda; Panglima Polim; Letjen Suprapto; Tuanku Tambusai; "
    "Sam Ratulangi; Pattimura; WR Supratman; MT Haryono; S. Parman; Yos Sudarso; "
    "Urip Sumoharjo; Adi Sucipto; Slamet Riyadi; Kapten Tendean; Wolter Monginsidi; "
    "Dewi Sartika; Ki Hajar Dewantara; Trunojoyo; Untung Suropati; Iskandar Muda; "
    "Gunung Sahari; Mangga Besar; Tebet Barat; Margonda; Kolonel Sugiono; Lingkar Selatan; "
    "Kebayoran Lama; Pondok Indah; Perintis Kemerdekaan; Mayjen Sungkono; Mangkubumi"
)
GANGS = _lines(
    "Kelinci; Masjid; Buntu; Sawo; Jambu; Haji Naim; Mushola; Langgar; Kenari; Damai; "
    "Sukun; Belimbing; Kates; Waru; Pete; Delman; Sepakat; Rukun"
)
KOMPLEKS = _lines(
    "Griya Asri; Bumi Indah Permai; Taman Sari Indah; Pondok Hijau; Villa Mutiara; "
    "Griya Permata; Bumi Serpong; Taman Cibodas; Puri Kencana; Graha Cendana; Citra Garden; "
    "Pesona Depok; Bumi Teratai; Griya Bukit Jaya"
)
STREET_PREFIX = ("Jl.", ("Jln.", "Jalan", "JL", "JL.", "Jl"))
NUMBER_STYLES = ("No. {n}", ("Nomor {n}", "No {n}", "No.{n}", "{n}"))
RT_RW = (
    "RT {rt:02d}/RW {rw:02d}",
    "RT.{rt:03d}/RW.{rw:03d}",
    "Rt {rt} Rw {rw}",
    "RT {rt:02d} RW {rw:02d}",
    "RT{rt:02d}/RW{rw:02d}",
    "RT {rt:02d}/{rw:02d}",
)
KEL_CITY = ("Kel. {v}", "Kelurahan {v}")
KEL_REGENCY = ("Desa {v}", "Kel. {v}", "Ds. {v}", "Kelurahan {v}")
KEC = ("Kec. {v}", "Kecamatan {v}")
GANG = ("Gg.", "Gang")
KOMPLEK = {"Komplek": ("Komp.", "Kompleks"), "Perum": ("Perumahan",)}

#: regencies with another name everyone reads as the same place (BPS code -> texts)
REGENCY_ALIASES = {
    "3171": ("Jaksel",),
    "3172": ("Jaktim",),
    "3173": ("Jakpus",),
    "3174": ("Jakbar",),
    "3175": ("Jakut",),
    "3372": ("Solo",),
    "3471": ("Jogja", "Yogya", "Jogjakarta"),
    "3674": ("Tangsel",),
    "7309": ("Pangkep",),
    "1206": ("Tobasa",),
    "1273": ("Siantar", "Pematangsiantar"),
    "1308": ("Limapuluh Kota", "50 Kota"),
    "1375": ("Bukit Tinggi",),
    "6271": ("Palangkaraya",),
    "7472": ("Bau Bau",),
    "2172": ("Tanjungpinang",),
    "3403": ("Gunungkidul",),
    "1278": ("Gunung Sitoli",),
}
REGENCY_PREFIX = {"kab": ("Kab.", ("Kabupaten", "Kab")), "kota": ("Kota", ("Kodya", "Kotamadya"))}
#: provinces' short forms (BPS code -> texts)
PROVINCE_SHORT = {
    "11": ("NAD", "Nanggroe Aceh Darussalam"),
    "12": ("Sumut", "Sumatra Utara"),
    "13": ("Sumbar",),
    "16": ("Sumsel",),
    "19": ("Babel", "Bangka Belitung"),
    "21": ("Kepri",),
    "31": ("DKI", "Jakarta"),
    "32": ("Jabar",),
    "33": ("Jateng",),
    "34": ("DIY", "Yogyakarta"),
    "35": ("Jatim",),
    "52": ("NTB",),
    "53": ("NTT",),
    "61": ("Kalbar",),
    "62": ("Kalteng",),
    "63": ("Kalsel",),
    "64": ("Kaltim",),
    "65": ("Kaltara",),
    "71": ("Sulut",),
    "72": ("Sulteng",),
    "73": ("Sulsel",),
    "74": ("Sultra",),
    "76": ("Sulbar",),
    "82": ("Malut",),
    "91": ("Pabar",),
}

#: e-mail domains (2017: Telkom's plasa.com and the like still in use)
DOMAINS = ("gmail.com", "gmail.com", "yahoo.co.id", "outlook.com", "rocketmail.com",
           "plasa.com", "telkom.net", "live.com")  # fmt: skip

#: each platform's own words for the 15 categories (several per category, chosen per
#: account), including categories the default profile never names
CATEGORY_WORDS = {
    "tokopedia": [
        ("Perawatan Tubuh", "Make Up & Parfum"), ("Fashion Muslim", "Pakaian Pria"),
        ("Makanan Ringan", "Bahan Makanan", "Makanan Beku"), ("Kopi & Teh", "Minuman Sehat"),
        ("Kerajinan Tangan", "Souvenir & Hadiah"), ("Furniture Rumah", "Dekorasi Rumah"),
        ("Perhiasan Wanita", "Aksesoris Pria"), ("Jamu & Herbal", "Suplemen Alami"),
        ("Alat Pertukangan", "Peralatan Logam"), ("Handphone & Tablet", "Komputer & Laptop"),
        ("Aksesoris Motor", "Sparepart Mobil"), ("Kebutuhan Dapur", "Perlengkapan Rumah Tangga"),
        ("Ibu & Bayi", "Olahraga"), ("Alat Kesehatan", "Obat & Vitamin"),
        ("Buku & Majalah", "Alat Tulis Kantor"),
    ],
    "lazada": [
        ("Beauty & Skincare", "Bath & Body"), ("Muslim Wear", "Men's Fashion"),
        ("Snacks", "Pantry Staples", "Frozen Food"), ("Coffee & Tea", "Drinks"),
        ("Arts & Crafts", "Gifts"), ("Living Room Furniture", "Bedding"),
        ("Fine Jewellery", "Fashion Accessories"), ("Traditional Medicine", "Vitamins"),
        ("Hardware", "Power Tools"), ("Mobiles & Tablets", "Computers & Laptops"),
        ("Motorcycle Parts", "Car Accessories"), ("Kitchen & Dining", "Household Supplies"),
        ("Mother & Baby", "Sports & Outdoors"), ("Medical Equipment", "Personal Care"),
        ("Books & Comics", "Office Supplies"),
    ],
    "shopee": [
        ("Kecantikan & Perawatan", "Parfum"), ("Busana Muslim", "Pakaian Pria"),
        ("Makanan Kering", "Makanan Beku", "Bahan Pokok"), ("Kopi", "Teh & Susu"),
        ("Souvenir & Pesta", "Kriya Nusantara"), ("Perabot Rumah", "Dekorasi"),
        ("Perhiasan Imitasi", "Aksesoris Wanita"), ("Jamu", "Suplemen Makanan"),
        ("Perkakas Besi", "Perlengkapan Bengkel"), ("Handphone & Aksesoris", "Komputer"),
        ("Aksesoris Motor", "Perawatan Kendaraan"), ("Peralatan Dapur", "Kebutuhan Rumah"),
        ("Perlengkapan Bayi", "Olahraga & Outdoor"), ("Alat Kesehatan", "Obat-obatan"),
        ("Buku Bacaan", "Alat Tulis & Kantor"),
    ],
    "bukalapak": [
        ("Riasan", "Perawatan Diri"), ("Baju Muslim", "Fashion Pria"),
        ("Aneka Makanan", "Oleh Oleh", "Sembilan Bahan Pokok"), ("Minuman Kemasan", "Kopi Bubuk"),
        ("Kerajinan Tangan", "Koleksi"), ("Mebel Kayu", "Perlengkapan Kamar"),
        ("Perhiasan Emas", "Aksesoris"), ("Obat Herbal", "Jamu Tradisional"),
        ("Perkakas Tukang", "Peralatan Industri"), ("Handphone", "Laptop"),
        ("Sparepart Motor", "Aksesoris Mobil"), ("Peralatan Rumah Tangga", "Alat Dapur"),
        ("Perlengkapan Bayi", "Olahraga"), ("Alat Kesehatan", "Vitamin"),
        ("Buku Pelajaran", "Alat Tulis"),
    ],
    "blibli": [
        ("Kecantikan & Perawatan Diri", "Parfum & Wewangian"), ("Fashion Muslim", "Fashion Pria"),
        ("Makanan Ringan", "Bahan Masakan", "Makanan Instan"), ("Minuman Serbuk", "Kopi & Teh"),
        ("Seni & Kerajinan", "Hadiah"), ("Furnitur Kayu", "Perlengkapan Tidur"),
        ("Perhiasan & Logam Mulia", "Jam & Aksesoris"), ("Herbal & Jamu", "Suplemen"),
        ("Peralatan Teknik", "Perkakas Tangan"), ("Handphone & Tablet", "Komputer & Laptop"),
        ("Aksesoris Motor", "Perawatan Mobil"), ("Peralatan Rumah", "Dapur & Makan"),
        ("Ibu & Anak", "Olahraga & Outdoor"), ("Alat Kesehatan", "Obat & Vitamin"),
        ("Buku & Alat Tulis Kantor", "Majalah"),
    ],
    "blanja": [
        ("Perawatan Wajah", "Kosmetika"), ("Baju Muslim", "Pakaian Pria"),
        ("Makanan Khas Daerah", "Makanan Ringan"), ("Minuman Tradisional", "Kopi"),
        ("Kriya", "Cendera Mata"), ("Perabot", "Interior"),
        ("Perhiasan Perak", "Aksesoris"), ("Jamu Gendong", "Obat Tradisional"),
        ("Alat Pertukangan", "Logam"), ("Gawai", "Komputer"),
        ("Kendaraan", "Aksesoris Mobil"), ("Kebutuhan Rumah Tangga", "Perabot Dapur"),
        ("Bayi & Anak", "Olahraga"), ("Alat Medis", "Obat"),
        ("Buku & ATK", "Bacaan"),
    ],
    "mataharimall": [
        ("Skin Care", "Fragrance"), ("Muslim Fashion", "Menswear"),
        ("Gourmet", "Snack Food"), ("Tea & Coffee", "Healthy Drinks"),
        ("Handicraft", "Gift Ideas"), ("Home Furniture", "Bed & Bath"),
        ("Fine Jewelry", "Watches & Accessories"), ("Herbal Remedies", "Wellness"),
        ("Home Improvement", "DIY Tools"), ("Gadgets", "Laptops"),
        ("Auto Parts", "Car Care"), ("Kitchenware", "Home Essentials"),
        ("Baby & Kids", "Sports"), ("Medical Devices", "Health Care"),
        ("Stationery", "Books & Magazines"),
    ],
}  # fmt: skip

#: the registry's `platform_online`: the marketplace (Kominfo's name first) and social media
PLATFORM_SPELLINGS = {
    "tokopedia": ("Tokopedia", "tokped", "Toko Pedia", "tokopedia.com", "TOKOPEDIA"),
    "lazada": ("Lazada", "lazada.co.id", "Lazada ID", "LAZADA"),
    "shopee": ("Shopee", "Shopee ID", "shopee.co.id", "SHOPEE", "shopi"),
    "bukalapak": ("Bukalapak", "bukalapak.com", "BL", "Buka Lapak", "BUKALAPAK"),
    "blibli": ("Blibli.com", "Blibli", "blibli", "Bli Bli"),
    "blanja": ("Blanja.com", "Blanja", "blanja.com"),
    "mataharimall": ("MatahariMall.com", "Matahari Mall", "mataharimall", "MatahariMall"),
}
SOCIAL_MEDIA = (
    "Instagram", "IG", "instagram", "Facebook", "FB", "fb", "WA", "WhatsApp", "whatsapp",
    "Line", "BBM", "Twitter", "OLX", "Kaskus", "website sendiri", "Blogspot",
)  # fmt: skip
LIST_SEPARATORS = (", ", "; ", " / ", " & ", " dan ", ",")
#: phones written where the contract lets a record leave them out
OPTIONAL_PHONE = {"shopee", "blanja", "mataharimall", "kemenkopukm"}
KEYBOARD = {
    "a": "sqwz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip


# --- places: real kecamatan and kelurahan/desa names of each regency ----------------------


@dataclass
class Places:
    """Districts of each regency (by regency index) and villages of each district."""

    districts: list[list[tuple[str, str]]]  # regency index -> [(district code, name)]
    villages: dict[str, list[str]]  # district code -> names


def _clean(name: str) -> str | None:
    """Title case of a BPS name; None for names with brackets or commas (not typed so)."""
    if any(ch in name for ch in '(),"\\/'):
        return None
    return " ".join(w.capitalize() for w in name.split())


def load_places(regions: Regions, wilayah: Path | None = None) -> Places:
    if wilayah is None:
        from umkm_sim import paths

        wilayah = paths.wilayah_dir()
    index = {code: i for i, code in enumerate(regions.codes)}
    districts: list[list[tuple[str, str]]] = [[] for _ in regions.codes]
    with open(wilayah / "districts.csv", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) >= 3 and row[1].strip() in index:
                name = _clean(row[2].strip())
                if name:
                    districts[index[row[1].strip()]].append((row[0].strip(), name))
    villages: dict[str, list[str]] = {}
    with open(wilayah / "villages.csv", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) >= 3:
                name = _clean(row[2].strip())
                if name:
                    villages.setdefault(row[1].strip(), []).append(name)
    return Places(districts, villages)


# --- draws ----------------------------------------------------------------------------------


class Draws:
    """Independent draws per row (entity or record), one hash per variation class."""

    def __init__(self, keys: np.ndarray, seed: int) -> None:
        self.keys = keys.astype(np.uint64)
        self.seed = seed

    def h(self, salt: int) -> np.ndarray:
        return mix(self.keys, self.seed + salt)

    def u(self, salt: int) -> list[float]:
        """Uniform in [0, 1)."""
        return ((self.h(salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53).tolist()

    def pick(self, salt: int, n: int) -> list[int]:
        return _bits(self.h(salt), 5, n).tolist()

    def weighted(self, salt: int, weights: np.ndarray) -> list[int]:
        cdf = np.cumsum(weights / weights.sum())
        cdf[-1] = 1.0
        u = (self.h(salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        return np.searchsorted(cdf, u, side="right").clip(0, len(cdf) - 1).tolist()


def _typo(word: str, bits: int) -> str:
    """One character dropped, doubled, swapped with the next, or a keyboard neighbour."""
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    if len(letters) < 4:
        return word
    i = letters[1 + bits % (len(letters) - 2)]
    kind = (bits >> 8) % 4
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2 and i + 1 < len(word) and word[i + 1].isalpha() and word[i + 1] != word[i]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    near = KEYBOARD.get(word[i].lower(), "aeiou")
    ch = near[(bits >> 12) % len(near)]
    return word[:i] + (ch.upper() if word[i].isupper() else ch) + word[i + 1 :]


def _typo_in(tokens: list[str], bits: int) -> list[str]:
    """A typo in one of the tokens with four letters or more (unchanged if none has)."""
    long = [i for i, t in enumerate(tokens) if sum(ch.isalpha() for ch in t) >= 4]
    if not long:
        return tokens
    i = long[bits % len(long)]
    out = list(tokens)
    out[i] = _typo(out[i], bits >> 4)
    return out


# --- the entity's own facts -----------------------------------------------------------------


@dataclass(slots=True)
class Canon:
    """What a business is, before anyone writes it down."""

    words: list[str]  # shop name tokens, title case, no legal form
    form: int  # LEGAL_FORMS index (0: none)
    owner: list[str]  # owner name tokens
    female: bool
    title: int  # TITLES index
    kind: int  # 0 street, 1 alley off a street, 2 housing estate
    street: str
    gang: str
    komplek: tuple[str, str, str]  # (Komplek | Perum, name, blok)
    number: str  # 12, 12A, 12-14
    rt: int
    rw: int
    village: str | None
    district: str | None
    district_code: str
    city: bool  # a Kota (kelurahan) rather than a Kabupaten (desa)
    phone: tuple[str, str, str]  # (M | L, operator or area code, rest)
    email: str
    nib: str | None
    nik: str
    no_contact: bool
    regency: int


class HeldoutRenderer(Renderer):
    """Renders the default profile's world with the held-out profile's words and noise."""

    profile = "heldout"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.noise = world.cfg.noise
        self.hseed = world.cfg.seed * 1_000_003 + 7_700_000
        places = getattr(world, "places", None)
        self.places = places if places is not None else load_places(world.regions)
        regions = world.regions
        self.regency_core: list[str] = []
        self.regency_kind: list[str] = []
        self.regency_alias: list[tuple[str, ...]] = []
        self.province: list[str] = []
        self.province_short: list[tuple[str, ...]] = []
        self.area: list[str] = []
        for code, prov, name in zip(regions.codes, regions.province_codes, regions.names,
                                    strict=True):  # fmt: skip
            kind = "kab" if name.startswith("KABUPATEN ") else "kota"
            core = " ".join(w.capitalize() for w in name.split()[1:])
            aliases = REGENCY_ALIASES.get(code, ())
            if "Kepulauan " in core:
                aliases = (*aliases, core.replace("Kepulauan ", "Kep. "))
            self.regency_core.append(core)
            self.regency_kind.append(kind)
            self.regency_alias.append(aliases)
            pname = regions.provinces[prov]
            self.province.append(
                " ".join(w if w in ("DKI", "DI") else w.capitalize() for w in pname.split())
            )
            self.province_short.append(PROVINCE_SHORT.get(prov, ()))
            self.area.append(AREA.get(prov, "21"))

    # the entity's facts ------------------------------------------------------------------
    def canon(self, ents: np.ndarray) -> list[Canon]:
        w, cfg, nz = self.world, self.cfg, self.noise
        e = Draws(ents, self.hseed)
        n = Draws(w.ent_name[ents].astype(np.int64), self.hseed + 1)  # twins share a name
        cat = w.ent_cat[ents].tolist()
        regency = w.ent_regency[ents].astype(np.int64).tolist()
        pattern, w1, w2, w3, noun = (
            n.pick(1, 4), n.pick(2, len(SHOP_W1)), n.pick(3, len(SHOP_W2)),
            n.pick(4, len(SHOP_W3)), n.pick(5, 1000),
        )  # fmt: skip
        has_w3 = n.u(6)
        has_form, form = e.u(10), e.weighted(11, LEGAL_WEIGHTS)
        group = e.weighted(20, np.array([g[0] for g in OWNER_GROUPS]))
        female, given = e.u(21), e.pick(22, 1000)
        given2, family = e.pick(23, 1000), e.pick(24, 1000)
        has_family, two_given = e.u(25), e.u(26)
        title = e.weighted(27, TITLE_WEIGHTS)
        kind_u, street = e.u(30), e.pick(31, len(STREETS))
        gang, komplek = e.pick(32, len(GANGS)), e.pick(33, len(KOMPLEKS))
        blok, number, letter_u = e.pick(34, 8 * 30), e.pick(35, 250), e.u(36)
        rt, rw = e.pick(38, 15), e.pick(39, 12)
        dist, vill = e.pick(40, 1 << 20), e.pick(41, 1 << 20)
        landline = e.u(50)
        op, digits, length = e.pick(51, len(MOBILE)), e.pick(52, 10**9), e.pick(53, 4)
        mail_kind, mail_n, domain = e.pick(54, 4), e.pick(55, 100), e.pick(56, len(DOMAINS))
        nib_u, nib_n = e.u(57), e.pick(58, 9 * 10**12)
        birth, serial, contact_u = e.pick(59, 365 * 45), e.pick(60, 3000), e.u(61)
        out = []
        for i in range(len(ents)):
            nouns = SHOP_NOUNS[cat[i]]
            nn = nouns[noun[i] % len(nouns)].split()
            a, b = SHOP_W1[w1[i]], SHOP_W2[w2[i]]
            p = pattern[i]
            words = [*nn, a, b] if p == 0 else [a, b, *nn] if p in (1, 2) else [a, *nn]
            if has_w3[i] < 0.3:
                words.append(SHOP_W3[w3[i]])
            fem = female[i] < 0.5
            g = OWNER_GROUPS[group[i]]
            names = g[2] if fem else g[1]
            owner = [names[given[i] % len(names)]]
            if two_given[i] < g[5]:
                second = names[given2[i] % len(names)]
                if second != owner[0]:
                    owner.append(second)
            if has_family[i] < g[4]:
                owner.append(g[3][family[i] % len(g[3])])
            if g is OWNER_GROUPS[7]:  # Balinese: "I Kadek Suarta", "Ni Luh Sukerti"
                owner.insert(0, BALI_PREFIX["f" if fem else "m"][given2[i] % 2])
            owner = owner[:3]
            reg = regency[i]
            dlist = self.places.districts[reg]
            if dlist:
                dcode, dname = dlist[dist[i] % len(dlist)]
                vlist = self.places.villages.get(dcode, [])
                village = vlist[vill[i] % len(vlist)] if vlist else None
            else:
                dcode, dname, village = self.reg_codes[reg] + "010", None, None
            k = 0
            if kind_u[i] < nz.komplek_share:
                k = 2
            elif kind_u[i] < nz.komplek_share + nz.gang_share:
                k = 1
            num = str(1 + number[i])
            if letter_u[i] < nz.house_letter_share:
                num += "ABCDE"[number[i] % 5]
            elif letter_u[i] < nz.house_letter_share + nz.house_range_share:
                num += f"-{2 + number[i] + 2 * (number[i] % 3)}"
            est = ("Komplek", "Perum")[komplek[i] % 2]
            blk = f"{'ABCDEFGH'[blok[i] % 8]}{1 + blok[i] // 8}"
            if landline[i] < cfg.landline_share:
                area = self.area[reg]
                width = 8 if area == "21" else 7 if len(area) == 2 else 6
                phone = ("L", area, f"{digits[i] % 10**width:0{width}d}")
            else:
                width = 6 + length[i]  # 10 to 13 digits with the leading 0
                phone = ("M", MOBILE[op[i]], f"{digits[i] % 10**width:0{width}d}")
            email = self._email(owner, words, mail_kind[i], mail_n[i], DOMAINS[domain[i]])
            nib = str(10**12 + nib_n[i]) if nib_u[i] < cfg.nib_share else None
            day_, month_, year_ = 1 + birth[i] % 28, 1 + (birth[i] // 28) % 12, 50 + birth[i] % 45
            nik = (
                f"{dcode[:4]}{dcode[-2:]}{day_ + (40 if fem else 0):02d}{month_:02d}"
                f"{year_ % 100:02d}{1 + serial[i]:04d}"
            )
            out.append(
                Canon(
                    words=words, form=(1 + form[i]) if has_form[i] < nz.legal_form_share else 0,
                    owner=owner, female=fem, title=title[i], kind=k, street=STREETS[street[i]],
                    gang=GANGS[gang[i]], komplek=(est, KOMPLEKS[komplek[i]], blk), number=num,
                    rt=1 + rt[i], rw=1 + rw[i], village=village, district=dname,
                    district_code=dcode, city=self.regency_kind[reg] == "kota", phone=phone,
                    email=email, nib=nib, nik=nik, no_contact=contact_u[i] < nz.no_contact_share,
                    regency=reg,
                )
            )  # fmt: skip
        return out

    @staticmethod
    def _email(owner: list[str], words: list[str], kind: int, n: int, domain: str) -> str:
        def plain(tokens: list[str]) -> str:
            return "".join(ch for ch in "".join(tokens).lower() if ch.isalnum())

        people = [t for t in owner if len(t) > 2] or owner
        if kind == 0:
            local = (
                f"{plain(people[:1])}.{plain(people[-1:])}" if len(people) > 1 else plain(people)
            )
        elif kind == 1:
            local = f"{plain(people[:1])}{n}"
        elif kind == 2:
            local = f"{plain(words[:2])}.official"
        else:
            local = f"toko{plain(words[:2])}{n % 10}"
        return f"{local}@{domain}"

    # how one record writes it -----------------------------------------------------------
    def shop_names(
        self, canon: list[Canon], d: Draws, registry: bool, marketplace: bool
    ) -> list[str]:
        nz = self.noise
        typo, typo_b = d.u(100), d.pick(101, 1 << 30)
        swap, swap_at = d.u(102), d.pick(103, 1 << 20)
        punct, punct_kind = d.u(104), d.pick(105, 1 << 20)
        shown, variant, dotted, dotted_at, end, comma = (
            d.u(106), d.u(107), d.u(108), d.pick(109, 6), d.u(110), d.u(111),
        )  # fmt: skip
        case = d.u(112)
        space, space_kind = d.u(113), d.pick(114, 3)
        emoji, emoji_at = d.u(115), d.pick(116, len(EMOJI))
        out = []
        for i, c in enumerate(canon):
            words = list(c.words)
            if typo[i] < nz.name_typo_rate:
                words = _typo_in(words, typo_b[i])
            if swap[i] < nz.name_swap_rate and len(words) >= 2:
                j = swap_at[i] % (len(words) - 1)
                words[j], words[j + 1] = words[j + 1], words[j]
            form_text, at_end = None, False
            if c.form and shown[i] < nz.legal_form_shown_rate:
                usual_abbrev, abbrev, dots, long = LEGAL_FORMS[c.form]
                is_variant = variant[i] < nz.legal_form_variant_rate
                form_text = long if usual_abbrev == is_variant else abbrev
                if form_text == abbrev and dotted[i] < nz.legal_form_dotted_rate:
                    form_text = dots[dotted_at[i] % len(dots)]
                at_end = end[i] < nz.legal_form_end_rate
            if punct[i] < nz.name_punctuation_rate:
                if len(words) >= 2 and (punct_kind[i] % 3 or at_end):
                    j = punct_kind[i] % (len(words) - 1)
                    words[j : j + 2] = [f"{words[j]}-{words[j + 1]}"]
                else:
                    words[-1] += "."
            base = " ".join(words)
            if form_text is None:
                name = base
            elif at_end:
                name = f"{base}, {form_text}" if comma[i] < 0.7 else f"{base} {form_text}"
            else:
                name = f"{form_text} {base}"
            if registry:
                if case[i] < nz.registry_upper_rate:
                    name = name.upper()
            elif case[i] < nz.name_upper_rate:
                name = name.upper()
            elif case[i] < nz.name_upper_rate + nz.name_lower_rate:
                name = name.lower()
            if space[i] < nz.name_space_rate:
                k = space_kind[i]
                if k == 0 and " " in name:
                    name = name.replace(" ", "  ", 1)
                elif k == 1:
                    name = " " + name
                else:
                    name += " "
            if marketplace and emoji[i] < nz.name_emoji_rate:
                name = f"{name} {EMOJI[emoji_at[i]]}"
            out.append(name)
        return out

    def owner_names(self, canon: list[Canon], d: Draws, registry: bool) -> list[str]:
        nz = self.noise
        drop, drop_at = d.u(120), d.pick(121, 1 << 20)
        initial, initial_at = d.u(122), d.pick(123, 1 << 20)
        swap, typo, typo_b = d.u(124), d.u(125), d.pick(126, 1 << 30)
        honor, spelling, comma = d.u(127), d.pick(128, 6), d.u(129)
        case = d.u(130)
        out = []
        for i, c in enumerate(canon):
            tokens = list(c.owner)
            if drop[i] < nz.owner_drop_rate and 2 <= len(tokens) <= 3:
                del tokens[drop_at[i] % len(tokens)]
            if initial[i] < nz.owner_initial_rate and len(tokens) >= 2:
                j = initial_at[i] % len(tokens)
                tokens[j] = tokens[j][0].upper() + "."
            if swap[i] < nz.owner_swap_rate and len(tokens) >= 2:
                tokens = [tokens[-1], *tokens[:-1]]
            if typo[i] < nz.owner_typo_rate:
                tokens = _typo_in(tokens, typo_b[i])
            name = " ".join(tokens)
            if honor[i] < nz.honorific_rate:
                male, female, after = TITLES[c.title]
                options = female if c.female else male
                t = options[spelling[i] % len(options)]
                if after:
                    name = f"{name}, {t}" if comma[i] < 0.7 else f"{name} {t}"
                else:
                    name = f"{t} {name}"
            if registry:
                if case[i] < nz.registry_upper_rate:
                    name = name.upper()
            elif case[i] < nz.owner_upper_rate:
                name = name.upper()
            elif case[i] < nz.owner_upper_rate + nz.owner_lower_rate:
                name = name.lower()
            out.append(name)
        return out

    def addresses(
        self, canon: list[Canon], d: Draws, optional: bool, registry: bool
    ) -> list[str | None]:
        nz = self.noise
        missing = d.u(140)
        prefix, prefix_at = d.u(141), d.pick(142, 5)
        number, number_at = d.u(143), d.pick(144, 4)
        rtrw, rtrw_at = d.u(145), d.pick(146, len(RT_RW))
        kel, kel_at = d.u(147), d.pick(148, 4)
        kec, kec_at = d.u(149), d.pick(150, 2)
        gang, komp, komp_at = d.u(151), d.u(152), d.pick(153, 2)
        case = d.u(154)
        out: list[str | None] = []
        for i, c in enumerate(canon):
            if optional and missing[i] < nz.address_missing_rate:
                out.append(None)
                continue
            jl = STREET_PREFIX[0]
            if prefix[i] < nz.street_prefix_variant_rate:
                jl = STREET_PREFIX[1][prefix_at[i]]
            no = NUMBER_STYLES[0]
            if number[i] < nz.house_number_variant_rate:
                no = NUMBER_STYLES[1][number_at[i]]
            no = no.format(n=c.number)
            if c.kind == 2:
                est, name, blk = c.komplek
                if komp[i] < nz.komplek_variant_rate:
                    variants = KOMPLEK[est]
                    est = variants[komp_at[i] % len(variants)]
                text = f"{est} {name} Blok {blk} {no}"
            elif c.kind == 1:
                gg = GANG[1] if gang[i] < nz.gang_variant_rate else GANG[0]
                text = f"{jl} {c.street} {gg} {c.gang} {no}"
            else:
                text = f"{jl} {c.street} {no}"
            if rtrw[i] < nz.rt_rw_rate:
                text += " " + RT_RW[rtrw_at[i]].format(rt=c.rt, rw=c.rw)
            if c.village and kel[i] < nz.kelurahan_rate:
                styles = KEL_CITY if c.city else KEL_REGENCY
                text += ", " + styles[kel_at[i] % len(styles)].format(v=c.village)
            if c.district and kec[i] < nz.kecamatan_rate:
                text += ", " + KEC[kec_at[i]].format(v=c.district)
            upper = nz.registry_upper_rate if registry else nz.address_upper_rate
            if case[i] < upper:
                text = text.upper()
            out.append(text)
        return out

    def regency_texts(self, canon: list[Canon], d: Draws) -> list[str]:
        nz = self.noise
        alias, alias_at = d.u(160), d.pick(161, 6)
        drop, variant, variant_at = d.u(162), d.u(163), d.pick(164, 2)
        case = d.u(165)
        out = []
        for i, c in enumerate(canon):
            aliases = self.regency_alias[c.regency]
            if aliases and alias[i] < nz.regency_alias_rate:
                text = aliases[alias_at[i] % len(aliases)]
            else:
                text = self.regency_core[c.regency]
                usual, variants = REGENCY_PREFIX[self.regency_kind[c.regency]]
                if drop[i] >= nz.regency_prefix_drop_rate:
                    if variant[i] < nz.regency_prefix_variant_rate:
                        usual = variants[variant_at[i]]
                    text = f"{usual} {text}"
            if case[i] < nz.region_upper_rate:
                text = text.upper()
            out.append(text)
        return out

    def province_texts(self, canon: list[Canon], d: Draws, optional: bool) -> list[str | None]:
        nz = self.noise
        missing, short, short_at, case = d.u(170), d.u(171), d.pick(172, 6), d.u(173)
        out: list[str | None] = []
        for i, c in enumerate(canon):
            if optional and missing[i] < nz.province_missing_rate:
                out.append(None)
                continue
            shorts = self.province_short[c.regency]
            text = self.province[c.regency]
            if shorts and short[i] < nz.province_short_rate:
                text = shorts[short_at[i] % len(shorts)]
            if case[i] < nz.region_upper_rate:
                text = text.upper()
            out.append(text)
        return out

    def phones(
        self, canon: list[Canon], d: Draws, source: str, other: list[bool] | None = None
    ) -> list[str | None]:
        """Each record's phone text (None: absent, only where the contract allows)."""
        nz = self.noise
        optional = source in OPTIONAL_PHONE
        missing, no_contact = d.u(180), d.u(181)
        intl, intl_kind = d.u(182), d.pick(183, 2)
        grouped, sep = d.u(184), d.pick(185, 4)
        alt_op, alt_n = d.pick(186, len(MOBILE)), d.pick(187, 10**8)
        out: list[str | None] = []
        for i, c in enumerate(canon):
            silent = c.no_contact and no_contact[i] < nz.no_contact_rate
            if optional and (silent or missing[i] < nz.phone_missing_rate):
                out.append(None)
                continue
            phone = c.phone
            if silent or (other is not None and other[i]):  # a number not the business's
                phone = ("M", MOBILE[alt_op[i]], f"{alt_n[i]:08d}")
            out.append(
                _phone_text(phone, intl[i] < nz.phone_intl_rate, intl_kind[i],
                            grouped[i] < nz.phone_grouped_rate, sep[i])
            )  # fmt: skip
        return out

    def emails(self, canon: list[Canon], d: Draws) -> list[str | None]:
        nz = self.noise
        missing, no_contact, upper, upper_kind = d.u(190), d.u(181), d.u(192), d.pick(193, 2)
        out: list[str | None] = []
        for i, c in enumerate(canon):
            silent = c.no_contact and no_contact[i] < nz.no_contact_rate
            if silent or missing[i] < nz.email_missing_rate:
                out.append(None)
                continue
            email = c.email
            if upper[i] < nz.email_upper_rate:
                if upper_kind[i]:
                    email = email.upper()
                else:
                    local, domain = email.split("@")
                    email = f"{local.capitalize()}@{domain.capitalize()}"
            out.append(email)
        return out

    def silent(self, canon: list[Canon], d: Draws) -> list[bool]:
        """Records of a no-contact business written without its phone and e-mail (the
        draw `phones` and `emails` share)."""
        rate = self.noise.no_contact_rate
        return [c.no_contact and u < rate for c, u in zip(canon, d.u(181), strict=True)]

    def nibs(self, canon: list[Canon], d: Draws) -> list[str | None]:
        shown = d.u(195)
        rate = self.noise.nib_shown_rate
        return [c.nib if c.nib and s < rate else None for c, s in zip(canon, shown, strict=True)]

    # marketplaces ------------------------------------------------------------------------
    def record_draws(self, keys: np.ndarray, salt: int) -> Draws:
        return Draws(keys, self.hseed + salt * 1_000)

    def merchant_columns(self, p: Platform, rows: np.ndarray, d: int) -> dict[str, list]:
        """The default profile's columns (ids, dates, tiers, statuses, invalid records), with
        every free-text column written the held-out way."""
        c = super().merchant_columns(p, rows, d)
        acc = p.acc_of_rows(rows)
        ents = p.entity[acc]
        canon = self.canon(ents)
        key = acc.astype(np.uint64) + np.uint64(p.index << 32)
        rd = self.record_draws(key, 1 + p.index)
        inv = p.invalid[acc].tolist()
        other = _bits(mix(key, self.hseed + 5), 0, 1000) < int(self.cfg.other_phone_rate * 1000)
        names = self.shop_names(canon, rd, registry=False, marketplace=True)
        cities = self.regency_texts(canon, rd)
        provinces = self.province_texts(canon, rd, optional=True)
        phones = self.phones(canon, rd, p.name, other.tolist())
        words = CATEGORY_WORDS[p.name]
        pick = rd.pick(199, 6)
        cats = self.world.ent_cat[ents].tolist()
        for i, bad in enumerate(inv):
            if bad == 1:  # empty names and unknown regions stay the default profile's
                names[i] = c["name"][i]
            elif bad == 2:
                cities[i], provinces[i] = c["city"][i], None
        c.update(
            name=names,
            owner=self.owner_names(canon, rd, registry=False),
            phone=[ph or "" for ph in phones],
            phone_missing=[ph is None for ph in phones],
            email=self.emails(canon, rd),
            street=self.addresses(canon, rd, optional=True, registry=False),
            city=cities,
            province=provinces,
            category=[words[k][j % len(words[k])] for k, j in zip(cats, pick, strict=True)],
            nib=self.nibs(canon, rd),
        )
        return c

    # the registry and e-Smart --------------------------------------------------------------
    def platform_online(self, ents: np.ndarray, rd: Draws) -> list[str]:
        nz = self.noise
        plat = self.world.ent_platform[ents].tolist()
        variant, variant_at = rd.u(200), rd.pick(201, 5)
        social, social_at, social2 = rd.u(202), rd.pick(203, len(SOCIAL_MEDIA)), rd.u(204)
        sep_at, sep2_at, order = rd.pick(205, len(LIST_SEPARATORS)), rd.pick(206, 3), rd.u(207)
        out = []
        for i, pl in enumerate(plat):
            parts = []
            if pl >= 0:
                spellings = PLATFORM_SPELLINGS[C.MARKETPLACES[pl]]
                parts.append(
                    spellings[1 + variant_at[i] % (len(spellings) - 1)]
                    if variant[i] < nz.platform_variant_rate
                    else spellings[0]
                )
            if pl < 0 or social[i] < nz.social_mix_rate:
                s1 = SOCIAL_MEDIA[social_at[i]]
                parts.append(s1)
                if social2[i] < 0.3:
                    s2 = SOCIAL_MEDIA[(social_at[i] + 7) % len(SOCIAL_MEDIA)]
                    parts.append(s2)
                if pl >= 0 and order[i] < 0.3:
                    parts = [*parts[1:], parts[0]]
            sep = LIST_SEPARATORS[sep_at[i]]
            text = sep.join(parts[:2])
            if len(parts) > 2:
                text += LIST_SEPARATORS[sep2_at[i]] + parts[2]
            out.append(text)
        return out


def _phone_text(phone: tuple[str, str, str], intl: bool, intl_kind: int, grouped: bool,
                sep: int) -> str:  # fmt: skip
    """08…, +62…, 62…, (021) …, with spaces, dashes or dots (CONTRACT.md and beyond)."""
    kind, head, rest = phone
    if kind == "L":
        if intl:
            lead = "+62" if intl_kind == 0 else "62"
            return f"{lead} {head} {rest}" if grouped else f"{lead}{head}{rest}"
        if not grouped:
            return f"0{head}{rest}"
        mid = len(rest) // 2 if len(rest) > 6 else 3
        return (
            f"(0{head}) {rest}",
            f"0{head}-{rest}",
            f"0{head} {rest[:mid]} {rest[mid:]}",
            f"0{head}.{rest[:mid]}.{rest[mid:]}",
        )[sep]
    groups = [head, rest[:4], rest[4:]] if len(rest) > 5 else [head, rest]
    if intl:
        lead = "+62" if intl_kind == 0 else "62"
        if not grouped:
            return lead + "".join(groups)
        s = (" ", "-", ".", " ")[sep]
        return f"{lead}{' ' if s == ' ' or lead == '+62' else s}{s.join(groups)}"
    if not grouped:
        return "0" + "".join(groups)
    s = (" ", "-", ".", "-")[sep]
    return "0" + s.join(groups)


def registry_json(r: HeldoutRenderer, rows: np.ndarray, d: int) -> list[str]:
    """Kemenkop registry records of the held-out profile (JSON texts, `_id` first); ids,
    codes, scales, dates, statuses and the invalid records are the default profile's."""
    from umkm_sim.records import BAD_CODES, REG_STATUS, SCALES

    w = r.world
    reg = w.registry
    recs = reg.acc_of_rows(rows)
    if not len(recs):
        return []
    ents = reg.entity[recs]
    canon = r.canon(ents)
    rd = r.record_draws(recs.astype(np.uint64) + np.uint64(9 << 32), 20)
    inv = reg.invalid[recs]
    codes = [r.reg_codes[c.regency] for c in canon]
    for i in np.flatnonzero(inv == 4).tolist():
        codes[i] = BAD_CODES[i % len(BAD_CODES)]
    names = r.shop_names(canon, rd, registry=True, marketplace=False)
    for i in np.flatnonzero(inv == 1).tolist():
        names[i] = ""
    registered = reg.reg[recs].astype(np.int64) + np.where(inv == 3, 365 * 15, 0)
    status = np.where(reg.inactive[recs] > d, 0, 1).tolist()
    scales = w.ent_scale[ents].tolist()
    nik_missing = rd.u(210)
    niks = [
        "null" if m < r.noise.nik_missing_rate else f'"{c.nik}"'
        for c, m in zip(canon, nik_missing, strict=True)
    ]
    phones = _q(r.phones(canon, rd, "kemenkopukm"))
    emails = _q(r.emails(canon, rd))
    streets = _q(r.addresses(canon, rd, optional=True, registry=True))
    nibs = _q(r.nibs(canon, rd))
    owners = r.owner_names(canon, rd, registry=True)
    online = r.platform_online(ents, rd)
    ids = registry_ids(recs)
    positions = (rows + 1).tolist()
    dates = [ISO_DATES[x] for x in registered.tolist()]
    return [
        f'{{"_id":{pos},"id_umkm":"{i}","nama_usaha":"{nm}","nama_pemilik":"{ow}",'
        f'"nik_pemilik":{nk},"no_hp":{ph},"email":{em},"alamat":{st},'
        f'"kode_kabupaten":"{kc}","skala_usaha":"{SCALES[sc]}","nib":{nb},'
        f'"tanggal_daftar":"{td}","platform_online":"{po}","status":"{REG_STATUS[ss]}"}}'
        for pos, i, nm, ow, nk, ph, em, st, kc, sc, nb, td, po, ss in zip(
            positions, ids, names, owners, niks, phones, emails, streets, codes, scales, nibs,
            dates, online, status, strict=True,
        )
    ]  # fmt: skip


def esmart_rows(r: HeldoutRenderer, year: int) -> list[list]:
    """The data rows of the e-Smart IKM file of `year`, held-out profile (numbers, years,
    commodities, marketplaces and invalid rows as in the default profile)."""
    from umkm_sim.records import ESMART_MARKET

    w = r.world
    es = w.esmart
    idx = es.rows_of(year)
    ents = es.entity[idx]
    canon = r.canon(ents)
    rd = r.record_draws(idx.astype(np.uint64) + np.uint64(10 << 32), 21)
    names = r.shop_names(canon, rd, registry=False, marketplace=False)
    owners = r.owner_names(canon, rd, registry=False)
    phones = r.phones(canon, rd, "kemenperin")
    streets = r.addresses(canon, rd, optional=False, registry=False)
    cities = r.regency_texts(canon, rd)
    provinces = r.province_texts(canon, rd, optional=False)
    sentra_u = rd.u(220)
    numbers = es.number[idx].tolist()
    invalid = es.invalid[idx].tolist()
    cats = w.ent_cat[ents].tolist()
    mkts = es.marketplace[idx].tolist()
    rows = []
    for i, c in enumerate(canon):
        commodity = C.ESMART_COMMODITIES[cats[i]]
        sentra = None
        if sentra_u[i] < 0.3:
            sentra = f"Sentra IKM {commodity} {c.district or r.regency_core[c.regency]}"
        rows.append(
            [
                numbers[i],
                "" if invalid[i] == 1 else names[i],
                owners[i],
                phones[i],
                streets[i],
                "Antah Berantah" if invalid[i] == 2 else cities[i],
                provinces[i],
                commodity,
                sentra,
                year,
                ESMART_MARKET[mkts[i]],
            ]
        )
    return rows


def _q(values: list) -> list[str]:
    return ["null" if v is None else f'"{v}"' for v in values]


def vocabulary() -> list[str]:
    """Every string the profile writes from its own lists (tests check them for characters
    JSON would need escaped, and against the default profile's lists)."""
    out = [*SHOP_W1, *SHOP_W2, *SHOP_W3, *EMOJI, *STREETS, *GANGS, *KOMPLEKS, *DOMAINS]
    out += [n for nouns in SHOP_NOUNS for n in nouns]
    out += [x for form in LEGAL_FORMS[1:] for x in (form[1], *form[2], form[3])]
    for g in OWNER_GROUPS:
        out += [*g[1], *g[2], *g[3]]
    out += ALL_TITLE_SPELLINGS
    out += [x for words in CATEGORY_WORDS.values() for group in words for x in group]
    out += [x for names in PLATFORM_SPELLINGS.values() for x in names] + list(SOCIAL_MEDIA)
    out += [x for names in REGENCY_ALIASES.values() for x in names]
    out += [x for names in PROVINCE_SHORT.values() for x in names]
    return out
