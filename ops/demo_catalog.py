"""What the three demo stores sell: product kinds with their collection, price range, options and words.

Written to read like real shops (issue 20): every collection holds the kinds
that belong in it, prices sit in the range such a thing costs in that
currency, each kind has one maker whose name the description repeats, and
kyoto and nordic speak Japanese and German. ``picture`` names the illustration
origin/web/storefront/media.py draws for the kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    product_type: str  # also the product's name stem, in the shop's language
    handle: str  # ASCII stem for handles
    collection: str  # handle of the category collection it belongs in
    vendor: str
    price: tuple[int, int]  # whole units of the shop's currency
    options: tuple[tuple[str, tuple[str, ...]], ...]
    picture: str
    description: str  # {title}, {vendor}, {detail}
    details: tuple[str, ...]


@dataclass(frozen=True)
class Collection:
    handle: str
    title: str
    description: str


@dataclass(frozen=True)
class Series:
    name: str  # the model name in the title
    handle: str


# --------------------------------------------------------------------------- acme (USD, en-US)

ACME_COLLECTIONS = (
    Collection("packs", "Packs & Poles", "Daypacks, overnight packs and trekking poles for every trail."),
    Collection("outerwear", "Outerwear", "Rain shells, fleece and beanies that layer for the weather."),
    Collection("camp", "Camp", "Tents, sleeping bags, headlamps and bottles for nights outside."),
    Collection("footwear", "Footwear", "Hiking boots for day hikes and long trails."),
    Collection("new-arrivals", "New Arrivals", "The newest gear in the shop."),
    Collection("sale", "Sale", "Last season's colors at lower prices."),
)
ACME_SERIES = tuple(
    Series(name, name.lower())
    for name in (
        "Alpine", "Trail", "Summit", "Ridge", "Canyon", "Storm", "Basecamp", "Granite", "Cedar", "Nomad",
        "Sierra", "Cascade", "Juniper", "Timber", "Mesa", "Glacier", "Boulder", "Aspen", "Redwood", "Tundra",
    )
)
ACME_KINDS = (
    Kind("Backpack", "backpack", "packs", "Northbound", (79, 229), (("Color", ("Moss", "Slate", "Rust")),), "backpack",
         "The {title} from {vendor} carries a full day's kit: {detail}. Padded hip belt, hydration sleeve and a lifetime warranty.",
         ("28 liters with a roll-top main pocket", "32 liters and a ventilated back panel", "22 liters, light enough for fast hikes")),
    Kind("Trekking Poles", "trekking-poles", "packs", "Northbound", (49, 149), (("Length", ("100–120 cm", "110–130 cm", "120–140 cm")),), "poles",
         "A pair of {vendor} {title}: {detail}. Cork grips and flick locks that hold in the cold.",
         ("aluminum shafts at 9 oz per pole", "carbon shafts that fold to 15 inches", "three sections with carbide tips")),
    Kind("Rain Shell", "rain-shell", "outerwear", "Fieldcraft", (129, 349), (("Size", ("S", "M", "L", "XL")), ("Color", ("Moss", "Slate"))), "jacket",
         "The {title} is {vendor}'s three-layer waterproof shell: {detail}. Pit zips and a helmet-compatible hood.",
         ("fully taped seams and a 20,000 mm rating", "packs into its own chest pocket", "recycled face fabric with a PFC-free finish")),
    Kind("Fleece Jacket", "fleece", "outerwear", "Fieldcraft", (59, 139), (("Size", ("S", "M", "L", "XL")), ("Color", ("Rust", "Sand"))), "fleece",
         "{vendor}'s {title} is the layer you never take off: {detail}.",
         ("100-weight grid fleece that dries fast", "a full zip and two hand pockets", "brushed inside, smooth outside so shells slide over it")),
    Kind("Beanie", "beanie", "outerwear", "Fieldcraft", (19, 39), (("Color", ("Moss", "Rust", "Slate")),), "beanie",
         "A {vendor} {title} in {detail}. One size fits most.",
         ("merino wool rib knit", "a recycled wool blend with a fleece band", "a lightweight knit for shoulder seasons")),
    Kind("Tent", "tent", "camp", "Basecamp Works", (179, 549), (("Capacity", ("1-person", "2-person", "3-person")),), "tent",
         "The {title} from {vendor}: {detail}. Color-coded poles pitch it in five minutes.",
         ("a freestanding double-wall tent with two doors", "3 lb 2 oz trail weight and two vestibules", "a mesh inner for warm nights, full fly for storms")),
    Kind("Sleeping Bag", "sleeping-bag", "camp", "Basecamp Works", (119, 389), (("Length", ("Regular", "Long")),), "sleepingbag",
         "{vendor}'s {title} is {detail}. Comes with a stuff sack and a storage sack.",
         ("rated to 20°F with 650-fill down", "a synthetic bag rated to 30°F that stays warm when damp", "a mummy cut with a draft collar, rated to 15°F")),
    Kind("Headlamp", "headlamp", "camp", "Lumen Trail", (24, 79), (), "headlamp",
         "The {vendor} {title}: {detail}. USB-C rechargeable, red night mode, IPX4.",
         ("400 lumens and 40 hours on low", "250 lumens in 2.6 oz", "a tilting beam with a lock-out switch for your pack")),
    Kind("Water Bottle", "water-bottle", "camp", "Canteen Co.", (14, 44), (("Size", ("24 oz", "32 oz")),), "bottle",
         "A {title} by {vendor}: {detail}. Dishwasher safe and free of BPA.",
         ("double-wall steel that keeps water cold for 24 hours", "a wide mouth that takes ice cubes and filters", "a leak-proof loop cap")),
    Kind("Hiking Boot", "hiking-boot", "footwear", "Ridgeline", (119, 249), (("Size", ("8", "9", "10", "11", "12")),), "boot",
         "The {title} from {vendor}: {detail}. Resoleable, with a half-size range that fits true.",
         ("a waterproof leather mid with a Vibram sole", "a light synthetic upper broken in from day one", "a stiff shank for rocky trails and heavy packs")),
)

# --------------------------------------------------------------------------- nordic (EUR, de-DE)

NORDIC_COLLECTIONS = (
    Collection("wohnzimmer", "Wohnzimmer", "Stühle, Beistelltische, Regale und Teppiche aus nordischen Werkstätten."),
    Collection("kueche-und-tisch", "Küche & Tisch", "Tassen, Vasen und Kerzenhalter aus Steinzeug, Glas und Messing."),
    Collection("leuchten", "Leuchten", "Pendelleuchten mit warmem, blendfreiem Licht."),
    Collection("textilien", "Textilien", "Wolldecken und Kissen aus Schurwolle und Leinen."),
    Collection("bestseller", "Bestseller", "Was unsere Kundinnen und Kunden am liebsten kaufen."),
    Collection("sale", "Sale", "Ausgewählte Stücke zum reduzierten Preis."),
)
NORDIC_SERIES = tuple(
    Series(name, handle)
    for name, handle in (
        ("Fjord", "fjord"), ("Birke", "birke"), ("Frost", "frost"), ("Linnea", "linnea"), ("Halden", "halden"),
        ("Skog", "skog"), ("Vind", "vind"), ("Sølv", "solv"), ("Lysa", "lysa"), ("Tove", "tove"),
        ("Elin", "elin"), ("Runa", "runa"), ("Saga", "saga"), ("Ask", "ask"), ("Hav", "hav"),
        ("Dal", "dal"), ("Myra", "myra"), ("Sten", "sten"), ("Lind", "lind"), ("Eik", "eik"),
    )
)
NORDIC_KINDS = (
    Kind("Stuhl", "stuhl", "wohnzimmer", "Skandi Works", (189, 649), (("Holz", ("Eiche", "Esche", "Nussbaum")),), "chair",
         "Der {title} von {vendor}: {detail}. Geölt, mit Filzgleitern, in Dänemark gefertigt.",
         ("massives Holz mit geschwungener Rückenlehne", "ein Sitz aus Papierkordel, von Hand geflochten", "stapelbar und nur 4,2 kg leicht")),
    Kind("Beistelltisch", "beistelltisch", "wohnzimmer", "Skandi Works", (129, 399), (("Holz", ("Eiche", "Nussbaum")),), "sidetable",
         "Der {title} von {vendor} ist {detail}. Durchmesser 45 cm, Höhe 50 cm.",
         ("aus massivem Holz mit runder Platte", "mit Ablage aus pulverbeschichtetem Stahl", "leicht genug, um ihn überall hinzustellen")),
    Kind("Regal", "regal", "wohnzimmer", "Skandi Works", (99, 449), (("Breite", ("80 cm", "120 cm")),), "shelf",
         "Das {title} von {vendor}: {detail}. Wandmontage inklusive Schrauben.",
         ("drei Böden aus geölter Eiche", "Böden aus Esche auf schwarzen Stahlschienen", "frei stehend, mit verstellbaren Böden")),
    Kind("Teppich", "teppich", "wohnzimmer", "Fjell & Co", (149, 690), (("Größe", ("160 × 230 cm", "200 × 300 cm")),), "rug",
         "Der {title} von {vendor} ist {detail}.",
         ("handgewebt aus Schurwolle", "flach gewebt, mit feinem Streifenmuster", "aus Wolle und Jute, robust im Flur")),
    Kind("Tasse", "tasse", "kueche-und-tisch", "Hygge Studio", (16, 34), (), "mug",
         "Die {title} von {vendor}: {detail}. Spülmaschinenfest, 300 ml.",
         ("Steinzeug mit matter Glasur", "von Hand gedreht, jede ein Unikat", "mit breitem Henkel und reaktiver Glasur")),
    Kind("Vase", "vase", "kueche-und-tisch", "Hygge Studio", (24, 119), (("Größe", ("Klein", "Groß")),), "vase",
         "Die {title} von {vendor} ist {detail}.",
         ("mundgeblasenes Glas in Rauchgrau", "Steinzeug mit rauer Sandglasur", "schlicht und schmal, für einzelne Zweige")),
    Kind("Kerzenhalter", "kerzenhalter", "kueche-und-tisch", "Hygge Studio", (19, 59), (), "candleholder",
         "Der {title} von {vendor}: {detail}.",
         ("massives Messing, das mit der Zeit nachdunkelt", "Gusseisen, für Stabkerzen", "ein Set aus drei Höhen")),
    Kind("Pendelleuchte", "pendelleuchte", "leuchten", "Lys Design", (89, 349), (("Farbe", ("Schwarz", "Weiß", "Messing")),), "pendant",
         "Die {title} von {vendor}: {detail}. Für E27-Leuchtmittel, Kabel 2 m.",
         ("ein Schirm aus lackiertem Aluminium, Ø 38 cm", "blendfreies Licht durch den Innenreflektor", "ein Schirm aus Eichenfurnier, Ø 45 cm")),
    Kind("Wolldecke", "wolldecke", "textilien", "Fjell & Co", (69, 189), (("Farbe", ("Naturweiß", "Grau", "Salbei")),), "throw",
         "Die {title} von {vendor} ist {detail}. 130 × 180 cm.",
         ("aus weicher Lammwolle mit Fransen", "aus Merinowolle im Fischgratmuster", "gewebt in einer kleinen Weberei in Norwegen")),
    Kind("Kissen", "kissen", "textilien", "Fjell & Co", (29, 69), (("Größe", ("40 × 40 cm", "50 × 50 cm")), ("Farbe", ("Naturweiß", "Salbei"))), "cushion",
         "Das {title} von {vendor}: {detail}. Mit Füllung aus Daunen.",
         ("Leinen, stonewashed", "Wollbouclé mit verdecktem Reißverschluss", "Baumwolle mit gewebtem Muster")),
)

# --------------------------------------------------------------------------- kyoto (JPY, ja-JP)

KYOTO_COLLECTIONS = (
    Collection("green-tea", "日本茶", "宇治の煎茶・抹茶・ほうじ茶・玄米茶。"),
    Collection("teaware", "茶器", "京焼・清水焼の急須、茶碗、湯呑と茶道具。"),
    Collection("incense", "お香", "京都の香舗のお香。"),
    Collection("gifts", "贈り物", "お茶と茶器の贈り物に。"),
    Collection("seasonal", "季節のおすすめ", "今の季節に楽しみたいお茶と器。"),
    Collection("sale", "セール", "数量限定のお買い得品。"),
)
KYOTO_SERIES = tuple(
    Series(name, handle)
    for name, handle in (
        ("宇治", "uji"), ("清水", "kiyomizu"), ("祇園", "gion"), ("嵐山", "arashiyama"), ("桜", "sakura"),
        ("紅葉", "momiji"), ("金閣", "kinkaku"), ("伏見", "fushimi"), ("東山", "higashiyama"), ("鴨川", "kamogawa"),
        ("朝霧", "asagiri"), ("若葉", "wakaba"), ("月影", "tsukikage"), ("白川", "shirakawa"), ("北山", "kitayama"),
        ("大原", "ohara"), ("鞍馬", "kurama"), ("嵯峨", "saga"), ("南禅", "nanzen"), ("山科", "yamashina"),
    )
)
KYOTO_KINDS = (
    Kind("煎茶", "sencha", "green-tea", "宇治園", (1200, 4800), (("内容量", ("50g", "100g")),), "sencha",
         "{vendor}の{title}。{detail}。70〜80℃のお湯で1分ほど蒸らしてください。",
         ("宇治の茶園で摘んだ一番茶", "深蒸しで甘みとこくのある味わい", "すっきりとした香りの浅蒸し")),
    Kind("抹茶", "matcha", "green-tea", "宇治園", (1800, 6800), (("内容量", ("20g", "40g")),), "matchatin",
         "{vendor}の{title}。{detail}。お濃茶にもお薄にも。",
         ("石臼で挽いた濃緑の抹茶", "まろやかな旨みの薄茶向き", "製菓にも使いやすい香り高い抹茶")),
    Kind("ほうじ茶", "hojicha", "green-tea", "宇治園", (900, 2400), (("内容量", ("80g", "200g")),), "hojicha",
         "{vendor}の{title}。{detail}。熱湯で30秒。",
         ("強火で焙じた香ばしい茎ほうじ", "カフェインが少なく夜にも", "浅煎りでやさしい甘み")),
    Kind("玄米茶", "genmaicha", "green-tea", "宇治園", (800, 1800), (), "genmaicha",
         "{vendor}の{title}。{detail}。",
         ("香ばしい炒り玄米と煎茶を合わせました", "抹茶入りで色鮮やか", "200g入りの徳用袋")),
    Kind("急須", "kyusu", "teaware", "清水窯", (6800, 28000), (("容量", ("250ml", "400ml")),), "teapot",
         "{vendor}の{title}。{detail}。ステンレスの茶こし付き。",
         ("京焼の職人がろくろで挽いた横手の急須", "深い緑の青磁釉", "手になじむ朱泥の急須")),
    Kind("茶碗", "chawan", "teaware", "清水窯", (4800, 38000), (("釉薬", ("青磁", "灰釉", "鉄釉")),), "teabowl",
         "{vendor}の{title}。{detail}。木箱入り。",
         ("清水焼の抹茶碗", "ひとつひとつ景色の違う手捏ね", "貫入の美しい夏茶碗")),
    Kind("湯呑", "yunomi", "teaware", "清水窯", (2400, 7800), (), "cup",
         "{vendor}の{title}。{detail}。",
         ("手に持ちやすい筒形の湯呑", "煎茶の色が映える白磁", "ふたつ組の夫婦湯呑")),
    Kind("茶筅", "chasen", "teaware", "祇園工房", (2800, 6800), (), "whisk",
         "{vendor}の{title}。{detail}。",
         ("奈良・高山の竹で作った八十本立", "点てやすい百本立", "初めての方にも使いやすい数穂")),
    Kind("茶筒", "chazutsu", "teaware", "祇園工房", (3800, 12000), (("素材", ("銅", "錫", "桜皮")),), "caddy",
         "{vendor}の{title}。{detail}。",
         ("蓋が静かに閉まる手づくりの茶筒", "使うほど色が深まる", "湿気からお茶を守る二重蓋")),
    Kind("お香", "incense", "incense", "祇園香房", (1200, 4200), (("香り", ("白檀", "沈香", "桜")),), "incense",
         "{vendor}の{title}。{detail}。",
         ("京都で調合したスティック型のお香", "煙の少ない上品な香り", "約25分燃焼、40本入り")),
)


# Option values -> the colour word the illustration is drawn in (origin/web/storefront/media.py COLOURS).
COLOUR_WORDS = {
    "Moss": "moss", "Slate": "slate", "Rust": "rust", "Sand": "sand",
    "Eiche": "oak", "Esche": "ash", "Nussbaum": "walnut", "Schwarz": "black", "Weiß": "white", "Messing": "brass",
    "Naturweiß": "natural", "Grau": "grey", "Salbei": "sage",
    "青磁": "celadon", "灰釉": "ashglaze", "鉄釉": "iron", "銅": "copper", "錫": "tin", "桜皮": "cherrybark",
    "白檀": "sandalwood", "沈香": "agarwood", "桜": "sakura",
}


# --------------------------------------------------------------------------- checkout rules (issue 15)
# What each demo store charges for shipping and tax, so a shopper on `make dev` can buy from every
# one of them. Plain values in the seller API's shapes (origin/checkout/rules.py validates them).
# Payment needs no rule: the manual provider (bank transfer / cash on delivery) is always offered,
# Stripe too once ZELLY_STRIPE_SECRET_KEY is set.


@dataclass(frozen=True)
class CheckoutRules:
    shipping: tuple[dict, ...]  # {"name", "kind", "price", "min_subtotal"?, "countries"}
    taxes: tuple[dict, ...]  # {"country_code", "region", "rate", "is_inclusive", "applies_to_shipping"}


# US prices are shown before sales tax, which depends on the state (a few states' base rates
# here; a state without a row pays none, like Oregon). Canada: the federal GST on goods and shipping.
ACME_RULES = CheckoutRules(
    shipping=(
        {"name": "Standard (5–7 business days), free over $75", "kind": "free_above", "price": "5.95", "min_subtotal": "75.00", "countries": ["US"]},
        {"name": "Express (2 business days)", "kind": "flat", "price": "14.95", "countries": ["US"]},
        {"name": "Canada Post (7–10 business days)", "kind": "flat", "price": "19.95", "countries": ["CA"]},
    ),
    taxes=(
        {"country_code": "US", "region": "CA", "rate": "0.0725", "is_inclusive": False, "applies_to_shipping": False},
        {"country_code": "US", "region": "IL", "rate": "0.0625", "is_inclusive": False, "applies_to_shipping": False},
        {"country_code": "US", "region": "NY", "rate": "0.04", "is_inclusive": False, "applies_to_shipping": False},
        {"country_code": "US", "region": "TX", "rate": "0.0625", "is_inclusive": False, "applies_to_shipping": True},
        {"country_code": "US", "region": "WA", "rate": "0.065", "is_inclusive": False, "applies_to_shipping": True},
        {"country_code": "CA", "region": "", "rate": "0.05", "is_inclusive": False, "applies_to_shipping": True},
    ),
)

# EU prices include VAT at the buyer's country's rate (the OSS scheme), shipping included.
NORDIC_RULES = CheckoutRules(
    shipping=(
        {"name": "Standardversand (DHL, 2–3 Werktage), ab 50 € versandkostenfrei", "kind": "free_above", "price": "4.90", "min_subtotal": "50.00", "countries": ["DE"]},
        {"name": "Expressversand (1–2 Werktage)", "kind": "flat", "price": "9.90", "countries": ["DE"]},
        {"name": "EU-Versand (4–7 Werktage)", "kind": "flat", "price": "12.90", "countries": ["AT", "NL", "FR"]},
    ),
    taxes=(
        {"country_code": "DE", "region": "", "rate": "0.19", "is_inclusive": True, "applies_to_shipping": True},
        {"country_code": "AT", "region": "", "rate": "0.20", "is_inclusive": True, "applies_to_shipping": True},
        {"country_code": "NL", "region": "", "rate": "0.21", "is_inclusive": True, "applies_to_shipping": True},
        {"country_code": "FR", "region": "", "rate": "0.20", "is_inclusive": True, "applies_to_shipping": True},
    ),
)

# Japanese prices are shown tax-inclusive (消費税 10 %; one rate per country here, so the reduced
# 8 % for tea as food is not modelled). Yen have no minor unit.
KYOTO_RULES = CheckoutRules(
    shipping=(
        {"name": "通常配送（1万円以上で送料無料）", "kind": "free_above", "price": "800", "min_subtotal": "10000", "countries": ["JP"]},
        {"name": "お急ぎ便（翌日配送）", "kind": "flat", "price": "1200", "countries": ["JP"]},
    ),
    taxes=(
        {"country_code": "JP", "region": "", "rate": "0.10", "is_inclusive": True, "applies_to_shipping": True},
    ),
)
