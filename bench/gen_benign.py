#!/usr/bin/env python3
"""Generate benign request URLs, as they stand in an nginx access log, for false-positive checks.

Deterministic for a given --seed. Each line is one request target ("/path?query"). Routes and
parameters imitate ordinary web applications: shop searches and filters, blog and forum pages,
account and checkout flows, JSON APIs, analytics beacons and static assets. Values include the
text that trips naive detectors: names with apostrophes, product names containing "and", "or",
"select", "union", "drop", "table", quotes, ampersands, prices and ranges, dates, e-mail
addresses with '+', JSON-ish filters, relative paths, code-like search queries.

Encodings are mixed the way clients send them: HTML form encoding ('+' for spaces), JavaScript
encodeURIComponent (%20, keeps !'()*), and the minimal encoding of command-line clients (only
what must be escaped), with the access log's \\xHH escaping of '"' and '\\' applied on top.
"""
import argparse
import random
import string

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
         "Elizabeth", "Seán", "Zoë", "José", "François", "Björn", "Aoife", "Chloé", "Mohammed",
         "Wei", "Yuki", "Priya", "Olga", "Mateo", "Ines", "Kwame", "Fatima", "Lars", "Ana"]
LAST = ["O'Brien", "O'Reilly", "D'Angelo", "McDonald", "Smith", "Johnson", "Nguyen", "García",
        "Müller", "Dell'Acqua", "O'Neil", "Van der Berg", "d'Arcy", "Al-Sayed", "Kowalski",
        "Brown", "Taylor", "Wilson", "L'Heureux", "N'Diaye", "Fitzgerald", "Lee", "Martin"]
CITIES = ["New York", "San Francisco", "L'Aquila", "Saint-Étienne", "Martha's Vineyard",
          "Coeur d'Alene", "Köln", "São Paulo", "Zürich", "Washington, D.C.", "Portland",
          "Rio de Janeiro", "Lake Havasu City", "St. John's", "Ha'penny Bridge", "Oslo"]
STREETS = ["123 Main St.", "45 O'Connell Street", "Apt. 4B, 77 Union Square", "1 Infinite Loop",
           "10 Downing St", "221B Baker Street", "PO Box 1234", "Unit 5 / 12 Smith Rd",
           "Calle Mayor 5, 3º izq.", "500 Select Ave #200", "8 Drop Lane", "Table Mountain Rd 7"]
PRODUCTS = ["Select Comfort Sleep Number bed", "Black & Decker drill", "Tom and Jerry DVD",
            "Harry Potter and the Order of the Phoenix", "Union Jack flag", "drop earrings",
            "coffee table", "table runner 72\"", "insert for drawer", "Update firmware kit",
            "delete key keycap", "exec chair", "rock and roll t-shirt", "salt & pepper shakers",
            "Dolce & Gabbana", "AT&T prepaid card", "Q&A notebook", "R&B vinyl", "\"Best Dad\" mug",
            "kid's rain boots", "men's shoes size 10 1/2", "women's jacket (XL)",
            "2-pack AA batteries", "50% off sale", "iPhone 15 Pro case", "USB-C to USB-A",
            "Levi's 501 jeans", "Ben & Jerry's ice cream", "M&M's 1 lb bag", "or-glass vase",
            "and/or pendant", "select a size", "Where the Wild Things Are", "Between the World and Me",
            "Like a Rolling Stone poster", "Sleep mask", "benchmark chair", "Group Order Pizza",
            "Having Fun kids book", "Limit 1 per customer", "Join Us sign", "case for kindle",
            "char broil grill", "Order by phone", "Null & Void band tee", "true religion jeans",
            "1 and 1/2 inch buttons", "2 or 4 metal buttons", "C++ Primer 5th ed.",
            "C# in Depth", "R for Data Science", "Node.js Design Patterns", "<3 keychain",
            "PB&J lunchbox", "Jack-o'-lantern", "I'm with stupid shirt", "rock 'n' roll"]
QUERIES = ["how to select from table in excel", "drop shipping suppliers", "union station parking",
           "o'reilly auto parts near me", "don't stop believin' lyrics", "what's new",
           "rock & roll hall of fame", "best pizza \"new york\"", "2+2", "x > 5 and y < 3",
           "price < 20", "e = mc^2", "c++ vector sort", "c# async await", "javascript tutorial",
           "python f-strings", "html <div> center", "css :hover", "sql join types",
           "select all checkbox jquery", "where is my order", "order status", "50% off",
           "#summer2024", "@mention", "a/b testing", "1-2 of 10", "10 + 10", "who's on first",
           "what is 1=1", "i'm feeling lucky", "can't login", "tom's diner", "l'oréal paris",
           "ham & cheese", "mac & cheese recipe", "q&a", "pros & cons", "b&b near me",
           "order by date", "true or false quiz", "if then else", "case study", "begin again",
           "update my address", "delete account", "insert coin", "select committee hearing",
           "drop table tennis", "union of soviet socialist republics", "alert dog collar",
           "script writing course", "onload event", "document camera", "window cleaning",
           "prompt engineering", "confirm email", "eval form", "sleep apnea", "benchmark test",
           "path of exile", "..and then", "wait...what", "etc.", "rm -rf meaning",
           "cat food", "dog & cat toys", "ping pong table", "id card holder", "echo dot",
           "sh*t happens mug", "ls engine", "curl hair", "bash party", "dir en grey",
           "type c cable", "net worth", "find my phone", "head & shoulders", "tail light",
           "kill bill", "more or less", "less is more", "timeout chair", "touch screen",
           "null pointer exception", "404 not found", "1' tall vase", "5'11\" height",
           "6' x 9' rug", "3\" binder", "12\" pizza", "it's 5 o'clock somewhere",
           "\"quoted phrase\" and more", "'single quoted'", "a,b,c", "x;y;z", "key=value",
           "foo=bar&baz", "100% cotton", "$5 - $10", "€20", "£ to $", "¿qué?", "日本語",
           "emoji 😀", "naïve café", "ORDER BY", "Group By", "one OR two", "this AND that",
           "NOT this", "table of contents", "waitfor it", "exec summary", "declare independence"]
REVIEWS = ["Great product!!! Would buy again :-)", "Not bad... but the strap broke after 2 weeks :(",
           "5 stars - fits true to size (I'm 5'8\", 150 lbs)", "Meh; it's OK for the price",
           "Arrived late & box was damaged -- support fixed it though",
           "Love it <3 <3", "Size runs small, order 1/2 size up", "10/10 would recommend ;)",
           "The \"waterproof\" claim is false...", "Works w/ iPhone & Android (tested both)",
           "Color is more navy than black - see photo #2", "Q: does it fit a 15\" laptop? A: yes",
           "I ordered 2 and got 3?!", "Worth every $$$", "100% cotton? Feels like 50/50 to me",
           "Bought for my dad's b-day, he loved it", "Smells like... nothing. Good!",
           "Don't wash on hot (learned the hard way)", "Battery life: ~8h; charging: 2h",
           "Pros: light, cheap. Cons: flimsy, loud.", "Ok.", "It's fine = it's fine",
           "Better than the old model (v1 vs v2)", "Meets spec: 230V / 50Hz, IP67",
           "Is this the same as item #4412-B?", "Wouldn't buy again -- 1 star",
           "Hey @support, where's my order?", "Order #A-10023 still 'processing' after 5 days"]
SEARCH_OPS = ["site:example.com returns policy", "\"exact phrase\" -excluded +required",
              "intitle:review headphones", "shoes OR sneakers", "jacket AND waterproof NOT leather",
              "price:[10 TO 50]", "author:\"O'Brien\"", "tag:c++ OR tag:rust", "filetype:pdf manual",
              "camera -canon", "\"it's\" vs \"its\"", "2019..2021 models", "size:>=10",
              "color:(red OR blue)", "name:'Pat' and city:'Cork'"]
CODES = ["SKU-12-34/56", "A1B2-C3D4", "ISBN 978-0-13-110362-7", "EAN 4006381333931",
         "model_no=XR-500", "v2.3.1-beta+build.45", "#ff9900", "rgba(0,0,0,.5)", "UTF-8",
         "en_US.UTF-8", "10:30-11:00", "Mon-Fri 9-5", "1/2\" x 3/4\"", "3' x 5'", "12\"",
         "C:\\Users\\Public\\file.txt", "~/Downloads/report (final) v2.pdf",
         "report (final) v2.pdf", "IMG_2024-03-05_10.45.12.jpg", "a;b;c", "x=1;y=2",
         "key1:value1,key2:value2", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc-DEF_ghi",
         "(a+b)*c", "x^2 + y^2 = r^2", "f(x) = 2x + 1", "sqrt(2) ~ 1.414", "1e-3", "-0.5",
         "+44 (0) 20 7946 0958", "Apt #5, 3rd floor", "c/o Smith & Sons Ltd.",
         "P.O. Box 12 (rear entrance)", "50% + free shipping!", "<none>", "[draft] Q3 plan",
         "{{name}}'s profile", "${PRICE} off", "%s items", "N/A", "--", "...", "!!!", "?"]

TAGS = ["news", "how-to", "c++", "c#", ".net", "node.js", "q&a", "r&d", "rock'n'roll", "diy",
        "50%", "top-10", "ux/ui", "a11y", "i18n"]
COLORS = ["red", "navy blue", "off-white", "black", "rose gold", "#ff0000", "rgb(0,0,0)"]
SORTS = ["price asc", "price desc", "-created_at", "name asc, id desc", "relevance", "rating",
         "newest", "price_low_high", "popularity desc", "updated_at:desc", "title"]
SOURCES = ["google", "newsletter", "facebook", "twitter", "bing", "linkedin", "partner_site",
           "email", "instagram", "tiktok"]
MEDIUMS = ["cpc", "email", "social", "organic", "display", "affiliate", "referral"]
CAMPAIGNS = ["spring_sale-2024", "black friday", "Q3 launch", "back-to-school", "summer & sun",
             "win-back 30d", "Mother's Day", "brand|exact", "retarget_(v2)"]
DOMAINS = ["example.com", "mail.example.org", "shop.example.net", "gmail.com", "yahoo.co.uk",
           "outlook.com", "uni.edu"]
DOCS = ["docs/getting-started/install.md", "reports/2024/q1.pdf", "images/logo@2x.png",
        "assets/css/main.min.css", "uploads/2023/07/photo (1).jpg", "files/Résumé final.docx",
        "manual_v2.1.pdf", "C:\\fakepath\\invoice.pdf", "data/export-2024-03-05.csv",
        "static/js/app.3f9a1c.js", "templates/email/welcome.html", "a/b/c/d.txt"]
PATHS = ["/account/orders", "/account/settings?tab=security", "/checkout/payment",
         "/cart", "/", "/blog/2024/05/hello-world", "/products/123?color=red",
         "https://example.com/landing?ref=abc", "/search?q=shoes&page=2", "/en-us/help/faq#returns",
         "//cdn.example.com/img/banner.jpg", "/docs/api/v2/", "/docs/../docs/api"]


def rnd_word(r, n=None):
    n = n or r.randint(3, 10)
    return "".join(r.choice(string.ascii_lowercase) for _ in range(n))


def rnd_hex(r, n):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def rnd_b64(r, n):
    return "".join(r.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))


def uuid(r):
    return f"{rnd_hex(r, 8)}-{rnd_hex(r, 4)}-4{rnd_hex(r, 3)}-a{rnd_hex(r, 3)}-{rnd_hex(r, 12)}"


def date(r):
    y, m, d = r.randint(2019, 2025), r.randint(1, 12), r.randint(1, 28)
    style = r.randint(0, 5)
    if style == 0:
        return f"{y}-{m:02d}-{d:02d}"
    if style == 1:
        return f"{m:02d}/{d:02d}/{y}"
    if style == 2:
        return f"{y}-{m:02d}-{d:02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
    if style == 3:
        return f"{d}.{m}.{y}"
    if style == 4:
        return f"{y}-{m:02d}-{d:02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
    return r.choice(["today", "last 7 days", "this month", "yesterday", "2024-Q3"])


def price(r):
    a = r.randint(1, 500)
    style = r.randint(0, 5)
    if style == 0:
        return f"{a}.{r.randint(0, 99):02d}"
    if style == 1:
        return f"{a}-{a + r.randint(5, 200)}"
    if style == 2:
        return f"${a} - ${a + 50}"
    if style == 3:
        return f">={a}"
    if style == 4:
        return f"[{a} TO {a + 100}]"
    return str(a)


def email(r):
    user = r.choice([rnd_word(r), r.choice(FIRST).lower() + "." + rnd_word(r, 5)])
    if r.random() < 0.3:
        user += "+" + r.choice(["news", "shop", "test", "2024", "promo"])
    if r.random() < 0.1:
        user = "o'brien." + rnd_word(r, 4)
    return f"{user}@{r.choice(DOMAINS)}"


def name(r):
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def json_ish(r):
    choices = [
        '{"price":{"gte":%d,"lte":%d}}' % (r.randint(1, 50), r.randint(60, 500)),
        '{"tags":["%s","%s"],"in_stock":true}' % (r.choice(TAGS), r.choice(TAGS)),
        '{"q":"%s","page":%d}' % (r.choice(QUERIES).replace('"', '\\"'), r.randint(1, 9)),
        '[{"id":%d,"qty":%d},{"id":%d,"qty":1}]' % (r.randint(1, 999), r.randint(1, 5),
                                                    r.randint(1, 999)),
        '{"name":"%s","note":"call after 5 o\'clock"}' % name(r),
        '{"sort":[{"field":"price","order":"desc"}],"filter":null}',
        "{'a': 1, 'b': [1, 2, 3]}",
    ]
    return r.choice(choices)


def text_value(r):
    k = r.randint(0, 12)
    if k == 10:
        return r.choice(REVIEWS)
    if k == 11:
        return r.choice(SEARCH_OPS)
    if k == 12:
        return r.choice(CODES)
    if k <= 3:
        return r.choice(QUERIES)
    if k <= 5:
        return r.choice(PRODUCTS)
    if k == 6:
        return name(r)
    if k == 7:
        return r.choice(CITIES)
    if k == 8:
        return r.choice(STREETS)
    return f"{r.choice(PRODUCTS)} {r.choice(COLORS)}"


def utm(r):
    p = [("utm_source", r.choice(SOURCES)), ("utm_medium", r.choice(MEDIUMS)),
         ("utm_campaign", r.choice(CAMPAIGNS))]
    if r.random() < 0.4:
        p.append(("utm_content", r.choice(["hero banner", "footer_link", "cta-2", "img|top"])))
    if r.random() < 0.3:
        p.append(("utm_term", r.choice(QUERIES)))
    if r.random() < 0.3:
        p.append((r.choice(["gclid", "fbclid", "msclkid"]), rnd_b64(r, r.randint(20, 60))))
    return p


def route(r):
    """One request: (path, [(name, value), ...])."""
    k = r.randint(0, 27)
    if k == 24:
        return "/reviews/new", [("product", str(r.randint(1, 9999))), ("rating", str(r.randint(1, 5))),
                                ("text", r.choice(REVIEWS)), ("name", name(r))]
    if k == 25:
        return "/search", [("q", r.choice(SEARCH_OPS)), ("page", str(r.randint(1, 9)))]
    if k == 26:
        return "/inventory/lookup", [("code", r.choice(CODES)), ("store", str(r.randint(1, 300)))]
    if k == 27:
        return "/support/ticket", [("subject", r.choice(REVIEWS + QUERIES)),
                                   ("order", "A-%d" % r.randint(10000, 99999)),
                                   ("email", email(r))]
    if k == 0:
        p = [("q", r.choice(QUERIES)), ("page", str(r.randint(1, 40)))]
        if r.random() < 0.5:
            p.append(("sort", r.choice(SORTS)))
        return "/search", p
    if k == 1:
        p = [("q", text_value(r)), ("category", r.choice(["shoes", "home & garden", "toys", "books"])),
             ("price", price(r)), ("color", r.choice(COLORS))]
        return "/shop/search", p + (utm(r) if r.random() < 0.3 else [])
    if k == 2:
        return f"/products/{r.randint(1, 99999)}", [("variant", str(r.randint(1, 9))),
                                                     ("ref", r.choice(["home", "search", "email"]))]
    if k == 3:
        return "/api/v1/orders", [("status", r.choice(["open", "shipped", "returned", "open,shipped"])),
                                  ("from", date(r)), ("to", date(r)),
                                  ("limit", str(r.choice([10, 20, 50, 100]))),
                                  ("offset", str(r.randint(0, 500)))]
    if k == 4:
        return "/api/v2/items", [("filter", json_ish(r)), ("fields", "id,name,price")]
    if k == 5:
        return "/account/register", [("email", email(r)), ("name", name(r)),
                                     ("city", r.choice(CITIES))]
    if k == 6:
        return "/login", [("next", r.choice(PATHS)), ("lang", r.choice(["en", "fr-CA", "pt-BR"]))]
    if k == 7:
        return f"/blog/{date(r)[:4]}/{rnd_word(r)}-{rnd_word(r)}", utm(r)
    if k == 8:
        return "/forum/viewtopic.php", [("t", str(r.randint(1, 99999))), ("start", str(r.randint(0, 20) * 25)),
                                        ("hilit", r.choice(QUERIES))]
    if k == 9:
        return "/checkout/address", [("name", name(r)), ("street", r.choice(STREETS)),
                                     ("city", r.choice(CITIES)), ("zip", str(r.randint(10000, 99999))),
                                     ("phone", r.choice(["+1 (555) 123-4567", "555.123.4567",
                                                         "+44 20 7946 0958", "0049-30-1234567"]))]
    if k == 10:
        return "/download", [("file", r.choice(DOCS)), ("token", rnd_b64(r, 32))]
    if k == 11:
        return "/collect", [("v", "1"), ("tid", "UA-%d-1" % r.randint(1000, 99999)),
                            ("cid", uuid(r)), ("t", "pageview"),
                            ("dl", "https://www.example.com/" + rnd_word(r) + "?a=1&b=2"),
                            ("dt", r.choice(PRODUCTS) + " | Shop"),
                            ("sr", "1920x1080"), ("ul", "en-us")]
    if k == 12:
        return f"/static/js/app.{rnd_hex(r, 8)}.js", [("v", date(r)[:10])]
    if k == 13:
        return "/reviews", [("product", str(r.randint(1, 9999))),
                            ("author", name(r)), ("title", r.choice(QUERIES + PRODUCTS)),
                            ("rating", str(r.randint(1, 5)))]
    if k == 14:
        return "/api/search", [("query", r.choice(QUERIES)), ("tags", ",".join(r.sample(TAGS, 2))),
                               ("page[size]", "25"), ("page[number]", str(r.randint(1, 9)))]
    if k == 15:
        return "/map", [("lat", "%.6f" % r.uniform(-90, 90)), ("lng", "%.6f" % r.uniform(-180, 180)),
                        ("zoom", str(r.randint(1, 18))), ("q", r.choice(CITIES))]
    if k == 16:
        return "/wiki/index.php", [("title", r.choice(["Rock_and_roll", "C++", "Union_(set_theory)",
                                                       "SELECT_(SQL)", "O'Hare_Airport",
                                                       "Drop_(liquid)", "Java_(programming_language)",
                                                       "AT&T", "Tom_&_Jerry", "Alert_(song)"])),
                                   ("action", r.choice(["view", "history", "edit"]))]
    if k == 17:
        return "/events", [("date", date(r)), ("tz", r.choice(["America/New_York", "UTC", "Europe/Paris"])),
                           ("q", r.choice(QUERIES))]
    if k == 18:
        return "/newsletter/subscribe", [("email", email(r)), ("src", r.choice(SOURCES))] + utm(r)
    if k == 19:
        return "/profile", [("user", r.choice(LAST).lower()), ("tab", r.choice(["posts", "likes"])),
                            ("bio", r.choice(["I'm a dev", "Coffee & code", "He/him", "Rock 'n' roll",
                                              "<3 cats", "CEO @ Acme", "\"Stay hungry\""]))]
    if k == 20:
        return "/graphql", [("operationName", "GetProduct"),
                            ("variables", '{"id":"%d","withReviews":true}' % r.randint(1, 9999))]
    if k == 21:
        return "/go", [("url", r.choice(["https://partner.example.com/?id=5&ref=us",
                                         "http://example.org/a/b?c=d", "/internal/page",
                                         "mailto:" + email(r), "tel:+15551234567"]))]
    if k == 22:
        return "/admin/logs", [("level", r.choice(["error", "warn", "info"])),
                               ("q", r.choice(["status:500", "path:/api/*", "user_id=42",
                                               "timeout OR refused", "\"connection reset\"",
                                               "GET /index.html"]))]
    return "/calc", [("expr", r.choice(["2+2", "(3*4)-1", "10/2", "2^10", "sqrt(16)", "5%3",
                                        "1e3", "-7+3"]))]


def enc_form(s):
    out = []
    for b in s.encode():
        c = chr(b)
        if c == " ":
            out.append("+")
        elif c.isascii() and (c.isalnum() or c in "-_.*"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def enc_component(s):
    out = []
    for b in s.encode():
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-_.!~*'()"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def enc_minimal(s):
    out = []
    for b in s.encode():
        c = chr(b)
        if b <= 0x20 or b >= 0x7f or c in "%&#+":
            out.append("%%%02X" % b)
        elif c in "\"\\":
            out.append("\\x%02X" % b)  # nginx access-log escaping
        else:
            out.append(c)
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=20240611)
    a = ap.parse_args()
    r = random.Random(a.seed)
    for _ in range(a.count):
        path, params = route(r)
        x = r.random()
        enc = enc_form if x < 0.55 else enc_component if x < 0.85 else enc_minimal
        q = "&".join(f"{enc(n)}={enc(v)}" for n, v in params)
        print(f"{path}?{q}" if q else path)


if __name__ == "__main__":
    main()
