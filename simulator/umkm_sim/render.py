"""Render records of one page from the world's arrays: ids, names, phones, cities, dates.

Everything textual is derived from a 64-bit hash of (seed, entity) or (seed, record), so a
page is computed from its own rows only. Noise (docs/SIMULATOR.md, "Noise"):

* names: legal-form prefixes (Toko, UD, CV, CV., PT) shown or not, upper/lower case, extra
  spaces, an emoji, a one-character typo at `typo_rate`; registries write upper case and
  "CV." / "UD." more often; twins (`twin_share`) are different businesses with the same name
  in the same regency (their phones and licences differ);
* phones: `08…`, `+62…`, `62…`, spaces or dashes; landlines `(021) 7654321`, `021-7654321`,
  `+62 21 7654321`; most accounts carry the business's own number (`other_phone_rate` not);
* cities: `Kab. Bandung`, `Kabupaten Bandung`, `KAB. BANDUNG`, `Bandung`, `BANDUNG`,
  `Kota Bandung`, `KOTA BANDUNG`, `Jkt Selatan`, ...; provinces in title or upper case;
* optional fields missing at `missing_optional_rate`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from umkm_sim.world import BRAND, NEVER, POWER, Platform, World, day, from_day

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of `x + salt` (vectorised, wraps modulo 2**64)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _bits(h: np.ndarray, shift: int, mod: int) -> np.ndarray:
    return ((h >> np.uint64(shift)) % np.uint64(mod)).astype(np.int64)


def _words(text: str) -> list[str]:
    return text.split()


# --- vocabularies ------------------------------------------------------------------------

CAT_NOUNS = [
    ["Kosmetik", "Beauty", "Cantik", "Skincare", "Salon"],  # Kosmetik
    ["Batik", "Butik", "Hijab", "Konveksi", "Fashion", "Kaos", "Tenun"],  # Fesyen
    ["Dapur", "Keripik", "Kue", "Sambal", "Bakery", "Rendang", "Snack", "Kopi"],  # Makanan
    ["Kopi", "Jamu", "Teh", "Sirup", "Es"],  # Minuman
    ["Kerajinan", "Anyaman", "Ukiran", "Souvenir", "Craft", "Gerabah"],  # Kerajinan
    ["Mebel", "Furniture", "Jati", "Kayu", "Rotan"],  # Mebel
    ["Perak", "Emas", "Perhiasan", "Mutiara", "Aksesoris"],  # Perhiasan
    ["Herbal", "Jamu", "Madu", "Minyak Atsiri"],  # Herbal
    ["Logam", "Pandai Besi", "Bengkel Las", "Alumunium"],  # Produk Logam
    ["Elektronik", "Gadget", "Ponsel", "Komputer"],
    ["Motor", "Onderdil", "Variasi", "Otomotif"],
    ["Perabot", "Grosir", "Sembako", "Plastik"],
    ["Mainan", "Hobi", "Game"],
    ["Apotek", "Alkes", "Sehat"],
    ["Buku", "ATK", "Pustaka"],
]
WORDS1 = _words(
    "Berkah Jaya Makmur Sentosa Abadi Mulia Sejahtera Indah Mandiri Bersama Sumber Rejeki "
    "Barokah Amanah Cahaya Gemilang Lestari Harapan Karya Mitra Putra Putri Sinar Surya Bintang "
    "Mega Prima Utama Anugerah Rahayu Subur Agung Sakti Kencana Permata Mutiara Delima Melati "
    "Mawar Kenanga Cempaka Dahlia Anggrek Kartika Nusantara Bahari Pelangi Fajar Senja Tunas "
    "Bunga Cinta Damai Hikmah Ikhlas Jujur Kurnia Lancar Maju Nikmat Pusaka Rizki Sejati Teguh "
    "Wijaya Yakin Zam Zam Azzahra Barokah Citra Dewi Elok Family Griya Hoki Insan Jaya Abadi"
)
WORDS2 = _words(
    "Jaya Abadi Makmur Sentosa Mandiri Sejahtera Indah Utama Lestari Baru Asri Sari Rasa Bunda "
    "Mama Ibu Bapak Kita Kami Nusa Raya Alam Sukses Barokah Mulia Agung Sehat Murni Cemerlang "
    "Handal Prima Tama Perkasa Kreasi Kreatif Collection Store Shop Official Mart Center House "
    "Corner Galeri Gallery Outlet Depot Kios Warung Lapak Sentral Solusi Pratama Persada"
)
WORDS3 = _words(
    "Snack Food Craft Style Store Shop 88 99 77 21 ID Indonesia Online Grosir Murah Asli Ori "
    "Premium Exclusive Handmade Kekinian Mantap Keren Hits Lezat Nikmat Enak Cantik Manis Jogja "
    "Bandung Solo Bali Malang Garut Medan Padang Makassar Jepara Pekalongan Bogor"
)
FIRST = _words(
    "Sri Siti Dewi Ani Rina Yuli Nur Budi Agus Joko Eko Dedi Hendra Rudi Andi Ahmad Muhammad "
    "Slamet Sugeng Wahyu Bambang Bayu Dian Fitri Ika Indah Lina Maya Nita Putri Ratna Sari Tuti "
    "Wati Yanti Ayu Bunga Citra Desi Erni Fajar Gilang Hadi Iwan Joni Kurnia Lukman Made Nyoman "
    "Ketut Wayan Komang Putu Gede Rizky Reza Fauzi Hasan Husein Imam Irfan Kartika Lestari "
    "Novi Oki Pandu Rahmat Santi Taufik Umar Vina Wawan Yusuf Zainal Asep Ujang Cecep Dadang "
    "Euis Neneng Acep Ucok Butet Tigor Daeng Andi Ketut Yohanes Maria Theresia Fransiska"
)
LAST = _words(
    "Rahayu Wulandari Susanti Lestari Handayani Setiawan Santoso Wijaya Pratama Saputra Hidayat "
    "Nugroho Kurniawan Gunawan Siregar Nasution Simanjuntak Harahap Lubis Sinaga Pane Tanjung "
    "Hasibuan Wibowo Prasetyo Purnomo Suryani Permana Hakim Ramadhan Firmansyah Maulana Fauzan "
    "Putri Anggraini Safitri Utami Rahmawati Puspita Kusuma Halim Tan Lim Gozali Sembiring "
    "Ginting Tarigan Manurung Sitompul Pardede Panjaitan Matondang Daulay Rangkuti Batubara "
    "Sulistyo Haryanto Sutrisno Suharto Mulyadi Hermawan Iskandar Syahputra Ardiansyah Pohan"
)
STREETS = _words(
    "Merdeka Sudirman Thamrin Diponegoro Gajah Mada Ahmad Yani Pemuda Pahlawan Veteran "
    "Kartini Sisingamangaraja Imam Bonjol Hasanuddin Gatot Subroto Mawar Melati Kenanga Anggrek "
    "Cempaka Flamboyan Raya Pasar Baru Pramuka Siliwangi Pajajaran Majapahit Cendrawasih"
)
LEGAL = ["", "Toko ", "UD ", "CV ", "PT "]
LEGAL_DOT = [*LEGAL, "", "", "UD. ", "CV. ", ""]  # form + 5: the dotted spelling
EMOJI = ["😀", "🛍️", "✨", "🔥", "🌸", "⭐", "👗", "🍰", "💯", "🇮🇩"]
MOBILE = _words(
    "811 812 813 821 822 823 851 852 853 814 815 816 855 856 857 858 817 818 819 859 877 878 "
    "895 896 897 898 899 881 882 887 888"
)
AREA = {
    "11": "651", "12": "61", "13": "751", "14": "761", "15": "741", "16": "711", "17": "736",
    "18": "721", "19": "717", "21": "778", "31": "21", "32": "22", "33": "24", "34": "274",
    "35": "31", "36": "254", "51": "361", "52": "370", "53": "380", "61": "561", "62": "536",
    "63": "511", "64": "541", "65": "551", "71": "431", "72": "451", "73": "411", "74": "401",
    "75": "435", "76": "426", "81": "911", "82": "921", "91": "986", "94": "967",
}  # fmt: skip
DOMAINS = ["gmail.com", "yahoo.com", "yahoo.co.id", "hotmail.com", "ymail.com"]
UNKNOWN_CITIES = ["Narnia", "Wakanda", "Antah Berantah", "-", "Atlantis", "Kota Gotham"]

ALL_NOUNS = [n for nouns in CAT_NOUNS for n in nouns]
NOUN_COUNT = np.array([len(n) for n in CAT_NOUNS], dtype=np.int64)
NOUN_OFFSET = np.concatenate([[0], np.cumsum(NOUN_COUNT)[:-1]]).astype(np.int64)
N_WORDS3 = len(WORDS3)
OWNERS = [f"{a} {b}" for a in FIRST for b in LAST]
OWNERS_UPPER = [o.upper() for o in OWNERS]
OWNER_MAIL = [f"{a}.{b}".lower() for a in FIRST for b in LAST]
AREA_CODES = sorted(set(AREA.values()))
HEADS = MOBILE + AREA_CODES
STREET_TABLE = [f"Jl. {s} No. {n}" for s in STREETS for n in range(1, 201)]
STREET_TABLE.append(None)  # index -1: no street

#: Each platform's own category words for the 15 categories (9 e-Smart commodities first).
CATEGORY_WORDS = {
    "tokopedia": ["Kecantikan", "Fashion Wanita", "Makanan & Minuman", "Makanan & Minuman",
                  "Handmade", "Rumah Tangga", "Fashion Anak & Aksesoris", "Kesehatan",
                  "Perawatan Rumah", "Elektronik", "Otomotif", "Dapur", "Mainan & Hobi",
                  "Kesehatan", "Buku"],
    "lazada": ["Health & Beauty", "Women's Fashion", "Groceries", "Beverages", "Home Decor",
               "Furniture", "Jewellery", "Health Supplements", "Tools & Home Improvement",
               "Electronic Devices", "Automotive", "Home & Living", "Toys & Games",
               "Medical Supplies", "Books & Stationery"],
    "shopee": ["Perawatan & Kecantikan", "Pakaian Wanita", "Makanan & Minuman", "Minuman",
               "Hobi & Koleksi", "Perlengkapan Rumah", "Aksesoris Fashion", "Kesehatan",
               "Pertukangan", "Elektronik", "Otomotif", "Perlengkapan Rumah", "Hobi & Koleksi",
               "Kesehatan", "Buku & Alat Tulis"],
    "bukalapak": ["Perawatan & Kecantikan", "Fashion Wanita", "Food", "Food", "Hobi & Koleksi",
                  "Rumah Tangga", "Fashion Wanita", "Kesehatan", "Industrial",
                  "Elektronik", "Motor", "Rumah Tangga", "Mainan", "Kesehatan", "Buku"],
    "blibli": ["Kecantikan", "Fashion", "Makanan", "Minuman", "Kerajinan & Seni", "Furnitur",
               "Perhiasan", "Kesehatan", "Perkakas", "Gadget & Elektronik", "Otomotif",
               "Home & Living", "Mainan & Bayi", "Kesehatan", "Buku & Alat Tulis"],
    "blanja": ["Kecantikan", "Busana", "Kuliner", "Kuliner", "Kerajinan", "Mebel",
               "Perhiasan", "Herbal", "Perkakas", "Elektronik", "Otomotif", "Rumah Tangga",
               "Mainan", "Kesehatan", "Buku"],
    "mataharimall": ["Beauty", "Fashion", "Food", "Food", "Lifestyle", "Home", "Jewelry",
                     "Health", "Tools", "Electronics", "Automotive", "Home", "Kids", "Health",
                     "Books"],
}  # fmt: skip
TIER_WORDS = {
    "tokopedia": ("regular", "power", "official"),
    "lazada": ("regular", "power", "official"),
    "shopee": ("normal", "preferred", "mall"),
    "bukalapak": ("basic", "super", "brand"),
    "blibli": ("basic", "super", "brand"),
    "blanja": ("umum", "umum", "resmi"),
    "mataharimall": ("umum", "umum", "resmi"),
}
STATUS_WORDS = {
    "tokopedia": ("active", "closed", "closed"),
    "lazada": ("active", "closed", "closed"),
    "shopee": ("NORMAL", "BANNED", "FROZEN"),
    "bukalapak": ("open", "closed", "closed"),
    "blibli": ("open", "closed", "closed"),
    "blanja": ("aktif", "tutup", "tutup"),
    "mataharimall": ("aktif", "tutup", "tutup"),
}
ID_FORMAT = {
    "tokopedia": ("", 10_000_000, 8),
    "lazada": ("", 100_000_000, 9),
    "shopee": ("", 20_000_000, 8),
    "bukalapak": ("", 1, 9),  # zero-padded: "000001234"
    "blibli": ("BLI-", 1, 7),
    "blanja": ("BLJ", 1, 8),
    "mataharimall": ("MM", 1, 8),
}

# --- dates --------------------------------------------------------------------------------
_N_DAYS = NEVER + 1
_DAY0 = date(2000, 1, 1)
ISO_DATES: list[str] = []
DMY_DATES: list[str] = []
for _i in range(0, day(date(2040, 1, 1))):
    _d = from_day(_i)
    ISO_DATES.append(_d.isoformat())
    DMY_DATES.append(f"{_d.day:02d}/{_d.month:02d}/{_d.year}")
#: time-of-day pieces (two small tables rather than one of 86,400 strings per process)
TS_HM = [f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
TS_SS = [f"{s:02d}+07:00" for s in range(60)]
UNIX_EPOCH_DAY0 = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())
WIB = 7 * 3600


def iso_ts(d: int, sec: int) -> str:
    return ISO_DATES[d] + TS_HM[sec // 60] + TS_SS[sec % 60]


def unix_ts(d: int, sec: int) -> int:
    return UNIX_EPOCH_DAY0 + d * 86400 + sec - WIB


# --- regions --------------------------------------------------------------------------------


def _title(text: str) -> str:
    words = []
    for w in text.split():
        words.append(w if w in ("DKI", "DI") else w.capitalize())
    return " ".join(words)


class RegionText:
    """Free-text variants of each regency and province name."""

    def __init__(self, world: World) -> None:
        regions = world.regions
        self.city_variants: list[list[str]] = []
        self.province_variants: list[list[str]] = []
        self.area: list[str] = []
        prov_text = {}
        for code, name in regions.provinces.items():
            title = _title(name)
            prov_text[code] = [title, title, name, f"Prov. {title}"]
        for prov, name in zip(regions.province_codes, regions.names, strict=True):
            if name.startswith("KABUPATEN "):
                core = _title(name.removeprefix("KABUPATEN "))
                variants = [
                    f"Kab. {core}",
                    f"Kab. {core}",
                    f"Kabupaten {core}",
                    f"KAB. {core.upper()}",
                    core,
                    core.upper(),
                    f"Kab {core}",
                ]
            else:
                core = _title(name.removeprefix("KOTA "))
                variants = [
                    f"Kota {core}",
                    f"Kota {core}",
                    f"KOTA {core.upper()}",
                    core,
                    core.upper(),
                    f"Kota {core}",
                    core,
                ]
                if core.startswith("Jakarta "):
                    part = core.removeprefix("Jakarta ")
                    variants[5] = f"Jkt {part}"
                    variants[6] = f"Jkt. {part}"
            self.city_variants.append(variants)
            self.province_variants.append(prov_text[prov])
            self.area.append(AREA.get(prov, "21"))
        self.area_index = np.array([AREA_CODES.index(a) for a in self.area], dtype=np.int64)
        # flat tables: regency * N + variant
        self.city_flat = [v for variants in self.city_variants for v in variants]
        self.city_n = len(self.city_variants[0])
        self.prov_flat = [v for variants in self.province_variants for v in variants]
        self.prov_flat.append(None)  # index -1: no province
        self.prov_n = len(self.province_variants[0])


# --- entity and account text ------------------------------------------------------------------


def make_renderer(world: World) -> Renderer:
    """The renderer of the world's noise profile (`SimConfig.profile`)."""
    if world.cfg.profile == "heldout":
        from umkm_sim.heldout import HeldoutRenderer

        return HeldoutRenderer(world)
    return Renderer(world)


class Renderer:
    """Renders pages of records for one world (the default noise profile)."""

    profile = "default"

    def __init__(self, world: World) -> None:
        self.world = world
        self.cfg = world.cfg
        self.seed = world.cfg.seed * 1_000_003
        self.regions = RegionText(world)
        self.reg_codes = world.regions.codes

    # entity-level text ------------------------------------------------------------------
    def entity_text(self, ents: np.ndarray) -> dict[str, list]:
        """Base name, owner, phone parts, licence and e-mail of each entity (vectorised
        where it can be: table lookups by index; a short Python loop for the names)."""
        w, cfg = self.world, self.cfg
        he = mix(ents, self.seed + 11)
        he2 = mix(ents, self.seed + 12)
        hn = mix(w.ent_name[ents], self.seed + 13)
        cat = w.ent_cat[ents].astype(np.int64)
        noun = NOUN_OFFSET[cat] + _bits(hn, 0, 997) % NOUN_COUNT[cat]
        w1 = _bits(hn, 10, len(WORDS1))
        w2 = _bits(hn, 20, len(WORDS2))
        w3 = _bits(hn, 30, len(WORDS3) * 2)
        pattern = _bits(hn, 40, 2)
        f = _bits(he, 0, 100)
        form = np.select([f < 50, f < 75, f < 85, f < 97], [0, 1, 2, 3], default=4)
        owner = _bits(he, 8, len(FIRST)) * len(LAST) + _bits(he, 16, len(LAST))
        mobile = _bits(he, 24, len(MOBILE))
        number = _bits(he, 32, 100_000_000)
        landline = _bits(he2, 0, 1000) < int(cfg.landline_share * 1000)
        has_nib = _bits(he2, 10, 1000) < int(cfg.nib_share * 1000)
        nib = np.where(has_nib, _bits(he2, 20, 9_000_000_000_000) + 1_000_000_000_000, 0)
        mail_n = _bits(he2, 50, 100)
        regency = w.ent_regency[ents].astype(np.int64)
        area = self.regions.area_index[regency]
        # phone parts: (kind, head, rest) with head the operator or area code
        heads = np.where(landline, len(MOBILE) + area, mobile).tolist()
        rests = np.where(landline, number % 10_000_000, number).tolist()
        kinds = landline.tolist()
        nouns = [ALL_NOUNS[i] for i in noun.tolist()]
        names = [
            f"{WORDS1[a]} {WORDS2[b]} {n}" + (f" {WORDS3[x]}" if x < N_WORDS3 else "")
            if pt == 0
            else f"{n} {WORDS1[a]} {WORDS2[b]}" + (f" {WORDS3[x]}" if x < N_WORDS3 else "")
            for n, a, b, x, pt in zip(
                nouns, w1.tolist(), w2.tolist(), w3.tolist(), pattern.tolist(), strict=True
            )
        ]
        owner_l = owner.tolist()
        mail = mail_n.tolist()
        return {
            "name": names,
            "owner_index": owner,
            "owner": [OWNERS[o] for o in owner_l],
            "phone": [
                ("L", HEADS[h], f"{r:07d}") if k else ("M", HEADS[h], f"{r:08d}")
                for k, h, r in zip(kinds, heads, rests, strict=True)
            ],
            "nib": [str(x) if x else None for x in nib.tolist()],
            "email": [
                f"{OWNER_MAIL[o]}{m}@{DOMAINS[m % 5]}" for o, m in zip(owner_l, mail, strict=True)
            ],
            "form": form.tolist(),
            "regency": regency.tolist(),
            "regency_array": regency,
        }

    # noise ------------------------------------------------------------------------------
    def noisy_names(
        self, bases: list[str], forms: list[int], h: np.ndarray, registry: bool
    ) -> list[str]:
        """The written forms of business names for a page: the same choices as
        `noisy_name`, decided for the whole page in numpy (the hot path)."""
        cfg = self.cfg
        n = len(bases)
        form = np.asarray(forms, dtype=np.int64)
        show = _bits(h, 10, 100) < (95 if registry else 70)
        dotted = (form == 2) | (form == 3)
        dot = dotted & (registry | (_bits(h, 17, 2) == 1))
        prefix = np.where(show & (form > 0), form + 5 * dot, 0).tolist()
        style = _bits(h, 20, 100)
        if registry:
            case = np.where(style < 65, 1, 0)
        else:
            case = np.where(style < 15, 1, np.where(style < 23, 2, 0))
        names = [
            (LEGAL_DOT[pf] + b).upper()
            if c == 1
            else (LEGAL_DOT[pf] + b).lower()
            if c
            else LEGAL_DOT[pf] + b
            for pf, b, c in zip(prefix, bases, case.tolist(), strict=True)
        ]
        typo = np.flatnonzero(_bits(h, 0, 1000) < int(cfg.typo_rate * 1000))
        if len(typo):
            hb = (h[typo] >> np.uint64(30)).tolist()
            for i, b in zip(typo.tolist(), hb, strict=True):
                names[i] = _typo(names[i], b)
        if not registry:
            emoji = _bits(h, 40, 1000) < int(cfg.emoji_rate * 1000)
            pick = _bits(h, 50, len(EMOJI))
            for i in np.flatnonzero(emoji).tolist():
                names[i] = f"{names[i]} {EMOJI[pick[i]]}"
            for i in np.flatnonzero(_bits(h, 45, 100) < 4).tolist():
                names[i] = names[i].replace(" ", "  ", 1) + " "
        assert len(names) == n
        return names

    @staticmethod
    def noisy_name(base: str, form: int, bits: int, registry: bool, cfg) -> str:
        """One written form of a business name (bits: the record's hash)."""
        r = bits % 1000
        prefix = ""
        if form:
            show = (bits >> 10) % 100 < (95 if registry else 70)
            if show:
                prefix = LEGAL[form]
                if form in (2, 3) and (registry or (bits >> 17) % 2):
                    prefix = prefix.rstrip() + ". "
        name = prefix + base
        style = (bits >> 20) % 100
        if registry:
            if style < 65:
                name = name.upper()
        elif style < 15:
            name = name.upper()
        elif style < 23:
            name = name.lower()
        if r < cfg.typo_rate * 1000:
            name = _typo(name, bits >> 30)
        if not registry:
            if (bits >> 40) % 1000 < cfg.emoji_rate * 1000:
                name = f"{name} {EMOJI[(bits >> 50) % len(EMOJI)]}"
            if (bits >> 45) % 100 < 4:
                name = name.replace(" ", "  ", 1) + " "
        return name

    @staticmethod
    def phone_text(phone: tuple[str, str, str], style: int) -> str:
        kind, head, rest = phone
        if kind == "L":
            area, num = head, rest
            s = style % 4
            if s == 0:
                return f"(0{area}) {num}"
            if s == 1:
                return f"0{area}-{num}"
            if s == 2:
                return f"+62 {area} {num}"
            return f"0{area} {num[:3]}-{num[3:]}"
        digits = head + rest
        s = style % 7
        if s in (0, 1):
            return "0" + digits
        if s == 2:
            return "+62" + digits
        if s == 3:
            return "62" + digits
        if s == 4:
            return f"0{head}-{rest[:4]}-{rest[4:]}"
        if s == 5:
            return f"+62 {head} {rest[:4]} {rest[4:]}"
        return f"0{head} {rest[:4]} {rest[4:]}"

    # marketplace pages --------------------------------------------------------------------
    def merchant_columns(self, p: Platform, rows: np.ndarray, d: int) -> dict[str, list]:
        """The columns of the merchants served at rows `rows` of platform `p` for day `d`:
        Python strings (None for an absent optional field) and ints."""
        cfg = self.cfg
        acc = p.acc_of_rows(rows)
        ents = p.entity[acc]
        n = len(acc)
        text = self.entity_text(ents)
        key = acc.astype(np.uint64) + np.uint64(p.index << 32)
        ha = mix(key, self.seed + 21)
        hb = mix(key, self.seed + 22)
        last, updated, closed = activity(p, acc, d, self.seed)
        opened = p.open[acc].astype(np.int64)
        inv = p.invalid[acc]
        future = inv == 3
        opened = np.where(future, d + 365 * 12 + opened % 300, opened)  # a year like 2029
        miss = int(cfg.missing_optional_rate * 100)
        # cities and provinces: flat variant tables; unknown regions for invalid records
        reg = text["regency_array"]
        city_idx = reg * self.regions.city_n + _bits(ha, 28, self.regions.city_n)
        cities = [self.regions.city_flat[i] for i in city_idx.tolist()]
        prov_idx = np.where(
            _bits(ha, 36, 100) < miss, -1, reg * self.regions.prov_n + _bits(ha, 40, 4)
        )
        unknown = np.flatnonzero(inv == 2)
        prov_idx[unknown] = -1
        provinces = [self.regions.prov_flat[i] for i in prov_idx.tolist()]
        for i in unknown.tolist():
            cities[i] = UNKNOWN_CITIES[i % len(UNKNOWN_CITIES)]
        street_idx = np.where(_bits(ha, 44, 100) < miss, -1, _bits(ha, 48, len(STREET_TABLE) - 1))
        streets = [STREET_TABLE[i] for i in street_idx.tolist()]
        emails_all = text["email"]
        email_keep = (_bits(hb, 40, 100) >= 2 * miss).tolist()
        emails = [e if k else None for e, k in zip(emails_all, email_keep, strict=True)]
        nib_keep = (_bits(hb, 44, 100) < 60).tolist()
        nibs = [x if k else None for x, k in zip(text["nib"], nib_keep, strict=True)]
        owner_upper = _bits(hb, 12, 10) == 0
        owners = np.where(owner_upper, -1 - text["owner_index"], text["owner_index"]).tolist()
        owners = [OWNERS[o] if o >= 0 else OWNERS_UPPER[-1 - o] for o in owners]
        # names and phones: a short Python loop over the noisy ones
        bits_b = hb.tolist()
        names = self.noisy_names(text["name"], text["form"], hb, registry=False)
        for i in np.flatnonzero(inv == 1).tolist():
            names[i] = " " if bits_b[i] % 2 else ""
        other = np.flatnonzero(_bits(hb, 30, 1000) < int(cfg.other_phone_rate * 1000))
        phones_src = text["phone"]
        if len(other):
            alt = mix(key[other], self.seed + 23)
            alt_m = _bits(alt, 0, len(MOBILE)).tolist()
            alt_n = _bits(alt, 8, 100_000_000).tolist()
            for j, i in enumerate(other.tolist()):
                phones_src[i] = ("M", MOBILE[alt_m[j]], f"{alt_n[j]:08d}")
        styles = _bits(ha, 20, 256).tolist()
        phones = [self.phone_text(ph, st) for ph, st in zip(phones_src, styles, strict=True)]
        tier_words = TIER_WORDS[p.name]
        status_words = STATUS_WORDS[p.name]
        cat_words = CATEGORY_WORDS[p.name]
        status_pick = np.where(closed, 1 + _bits(hb, 20, 2), 0)
        tod_open = _bits(ha, 0, 86400)
        tod_last = _bits(hb, 0, 86400)
        return {
            "n": n,
            "id": account_ids(p, acc),
            "name": names,
            "owner": owners,
            "phone": phones,
            "email": emails,
            "street": streets,
            "city": cities,
            "province": provinces,
            "tier": [tier_words[t] for t in p.tier[acc].tolist()],
            "category": [cat_words[c] for c in self.world.ent_cat[ents].tolist()],
            "products": p.products[acc].tolist(),
            "nib": nibs,
            "opened": opened.tolist(),
            "tod_open": tod_open.tolist(),
            "last": last.tolist(),
            "tod_last": tod_last.tolist(),
            "updated": updated.tolist(),
            "status": [status_words[s] for s in status_pick.tolist()],
            "phone_missing": (_bits(ha, 56, 100) < miss).tolist(),
        }


def activity(p: Platform, acc: np.ndarray, d: int, seed: int):
    """(last active day, updated day, closed) of accounts `acc` at day `d`."""
    opened = p.open[acc].astype(np.int64)
    close = p.close[acc].astype(np.int64)
    closed = close <= d
    jitter = _bits(
        mix(acc.astype(np.uint64) * np.uint64(40_009) + np.uint64(d), seed + p.index), 0, 30
    )
    last = np.minimum(d - jitter, p.dormant[acc].astype(np.int64))
    last = np.where(closed, np.minimum(last, close), last)
    last = np.maximum(last, opened)
    updated = np.maximum(last, np.where(closed, close, opened))
    return last, updated, closed


def updated_seconds(p: Platform, acc: np.ndarray, d: int, seed: int) -> np.ndarray:
    """`updated_at` of accounts as Unix seconds (for `updated_since` filtering)."""
    _last, updated, _closed = activity(p, acc, d, seed)
    key = acc.astype(np.uint64) + np.uint64(p.index << 32)
    tod = _bits(mix(key, seed + 22), 0, 86400)
    return UNIX_EPOCH_DAY0 + updated * 86400 + tod - WIB


def account_ids(p: Platform, acc: np.ndarray) -> list[str]:
    prefix, base, width = ID_FORMAT[p.name]
    return [f"{prefix}{base + a:0{width}d}" for a in acc.tolist()]


def registry_ids(records: np.ndarray) -> list[str]:
    """`id_umkm` of registry records (by record index)."""
    return [f"UMKM{r + 1:09d}" for r in records.tolist()]


def _typo(name: str, bits: int) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters) < 4:
        return name
    i = letters[1 + bits % (len(letters) - 2)]
    kind = (bits >> 8) % 3
    if kind == 0:  # drop a letter
        return name[:i] + name[i + 1 :]
    if kind == 1:  # double a letter
        return name[:i] + name[i] + name[i:]
    j = i + 1  # swap with the next character
    if j < len(name) and name[j].isalpha():
        return name[:i] + name[j] + name[i] + name[j + 1 :]
    return name[:i] + name[i + 1 :]


def iso_now(d: int) -> str:
    return iso_ts(d, 0)


__all__ = [
    "BRAND", "POWER", "Renderer", "account_ids", "iso_ts", "make_renderer", "mix", "unix_ts",
]  # fmt: skip
