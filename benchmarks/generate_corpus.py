"""Make a corpus of N distinct notices from the five samples in raw/.

Each notice is one sample rewritten for another issuer and region (province,
city or prefecture names and the issuer's document-number prefix), with its
own document number and date, and one of three punctuation styles (as
scraped, full width, half width). File names follow the samples'
``<serial>_<16 hex of the content hash>.txt``, so ids and contents differ.

    .venv/bin/python benchmarks/generate_corpus.py OUT_DIR -n 1000 [--start 0]

Deterministic: the same N and start give the same files.
"""

import argparse
import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "raw").glob("*.txt"))

# (province, short name, doc-number abbreviation)
PROVINCES = [
    ("湖南省", "湖南", "湘"),
    ("湖北省", "湖北", "鄂"),
    ("江西省", "江西", "赣"),
    ("广东省", "广东", "粤"),
    ("河南省", "河南", "豫"),
    ("安徽省", "安徽", "皖"),
    ("四川省", "四川", "川"),
    ("浙江省", "浙江", "浙"),
    ("福建省", "福建", "闽"),
    ("贵州省", "贵州", "黔"),
]
# (city short name, doc-number abbreviation), names from pipelines/reference/regions.csv
CITIES = [
    ("荆州", "荆"),
    ("长沙", "长"),
    ("株洲", "株"),
    ("湘潭", "潭"),
    ("衡阳", "衡"),
    ("岳阳", "岳"),
    ("常德", "常"),
    ("益阳", "益"),
    ("郴州", "郴"),
    ("永州", "永"),
    ("怀化", "怀"),
    ("娄底", "娄"),
    ("武汉", "武"),
    ("宜昌", "宜"),
    ("襄阳", "襄"),
    ("孝感", "孝"),
    ("黄冈", "黄"),
    ("咸宁", "咸"),
]
PREFECTURES = [("湘西", "湘西自治州"), ("恩施", "恩施自治州")]

HALF_TO_FULL = {"(": "\uff08", ")": "\uff09", ",": "\uff0c", ":": "\uff1a", ";": "\uff1b"}
FULL = str.maketrans(HALF_TO_FULL)
HALF = str.maketrans({v: k for k, v in HALF_TO_FULL.items()})


def _province(text: str, i: int) -> str:
    name, short, abbr = PROVINCES[i % len(PROVINCES)]
    text = text.replace("湘政发〔20231", f"{abbr}政发〔2023〕{i + 1}号")
    return text.replace("湖南省", name).replace("湖南", short)


def _city(old: str, old_abbr: str) -> object:
    def rewrite(text: str, i: int) -> str:
        city, abbr = CITIES[i % len(CITIES)]
        text = re.sub(rf"{old_abbr}政办发〔(\d{{4}})〕\d+号", rf"{abbr}政办发〔\g<1>〕{i + 1}号", text)
        return text.replace(old, city)

    return rewrite


def _prefecture(text: str, i: int) -> str:
    short, long = PREFECTURES[i % len(PREFECTURES)]
    text = text.replace("州政办发〔2024〕1号", f"州政办发〔2024〕{i + 1}号")
    return text.replace("湘西自治州", long).replace("湘西", short)


def _city_paper(text: str, i: int) -> str:
    """The newspaper print: another city and province, and the paper's issue number after the advert."""
    city, _abbr = CITIES[i % len(CITIES)]
    text = _province(text.replace("湘潭", city), i // len(CITIES))
    return text.rstrip("\n") + f"\n\n(第{i + 1}期)\n"


REWRITE = {"000": _province, "001": _province, "002": _prefecture, "003": _city("荆州", "荆"), "004": _city_paper}


def _date(text: str, i: int) -> str:
    """Move the first date of the notice to another day of its year (numbering of days 1..28)."""
    month, day = 1 + (i * 7) % 12, 1 + (i * 11) % 28
    text = re.sub(r"(20\d\d)-\d\d-\d\d", lambda m: f"{m.group(1)}-{month:02d}-{day:02d}", text, count=1)
    return re.sub(r"(20\d\d)年\d{1,2}月\d{1,2}日", lambda m: f"{m.group(1)}年{month}月{day}日", text, count=1)


def notice_text(i: int, samples: list[tuple[str, str]]) -> str:
    """The i-th notice of the corpus."""
    prefix, text = samples[i % len(samples)]
    j = i // len(samples)
    text = _date(REWRITE[prefix](text, j), j)
    style = (j // 3 + j // 180) % 3
    return text if style == 0 else text.translate(FULL if style == 1 else HALF)


def load_samples() -> list[tuple[str, str]]:
    return [(p.name[:3], p.read_text(encoding="utf-8")) for p in SAMPLES]


def write_corpus(out_dir: Path, n: int, start: int = 0) -> list[Path]:
    """Write notices ``start .. start+n-1`` into ``out_dir``; their contents are pairwise distinct."""
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = load_samples()
    paths, seen = [], set()
    for i in range(start, start + n):
        data = notice_text(i, samples).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:  # never expected; the corpus promises distinct contents
            raise RuntimeError(f"notice {i} repeats an earlier one")
        seen.add(digest)
        path = out_dir / f"{i:05d}_{digest[:16]}.txt"
        path.write_bytes(data)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args()
    paths = write_corpus(args.out, args.n, args.start)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} notices, {size / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
