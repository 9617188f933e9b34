"""Loaders for the licensed public datasets in ../shared/data and the project's own examples, mapped to our categories.

Every loader returns ``Row``s whose ``labels`` hold one value per category in ``CATEGORIES`` order:
1 (the text is an example of it), 0 (it is not) or -1 (the dataset cannot tell us; that head ignores the row).
``split`` says what the row may be used for: ``train`` and ``val`` feed training (val picks calibration and
thresholds), ``test`` is held out and only ever evaluated. The mapping follows ../shared/data/README.md; where we
chose differently the comment says why.

Splits are fixed and order-independent: a row's bucket comes from the SHA-256 of its text and a salt, ranked
within its stratum (label pattern), so the same file always splits the same way and a stratum's rows are cut at
the same proportion.

Privacy: the Guest et al. ``author`` column (real Reddit usernames) is never read, and ``RT @handle`` prefixes
and @handles in tweets are replaced before any text leaves this module.

Must never: return a row whose text appears (after normalisation) in an evaluation set as ``train``/``val``
(``drop_overlap`` does that), or read anything but the data folders it is given.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from safetrail.analysis.classifier import CATEGORIES
from safetrail.analysis.normalise import normalise

csv.field_size_limit(sys.maxsize)

K = len(CATEGORIES)
IDX = {c: i for i, c in enumerate(CATEGORIES)}
UNCOVERED = ("stalking_surveillance", "coercion_control", "blackmail_sextortion", "doxxing",
             "self_harm_incitement", "refusal")
MAX_PUBLIC_CHARS = 320  # longer public posts are not chat-like; they are cut to sentences or left out

_HANDLE = re.compile(r"@\w{1,30}")
_RT = re.compile(r"^\s*(?:!+\s*)?RT\s+@\w+:?\s*|\bRT\s+@\w+:?\s*")
_URL = re.compile(r"https?://\S+")
_SELF_HARM_HINT = re.compile(
    r"\b(?:kys|kill (?:yo)?urself|kill yourself|go (?:and )?die|hang yourself|neck yourself)\b")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    labels: tuple[int, ...]
    source: str
    split: str
    kind: str = "public"  # public | positive | lookalike | neutral
    group: str = ""  # functionality, dataset sub-label or template: used for reporting only
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def match_key(text: str) -> str:
    """The key two texts share when they are "the same" for overlap checks: normalised, punctuation dropped."""
    return " ".join(re.sub(r"[\W_]+", " ", normalise(text)).split())


def near_duplicates(texts: Sequence[str], held: Sequence[str], threshold: float = 0.9) -> list[tuple[str, str]]:
    """Pairs (text, held text) whose match keys have character-trigram Jaccard similarity of at least
    ``threshold``: the check that keeps a held-out suite held out even when a sentence is reworded by a
    letter or two. One sparse product instead of comparing every pair in Python."""
    import scipy.sparse as sp

    def grams(key: str) -> set[str]:
        padded = f"  {key} "
        return {padded[i : i + 3] for i in range(len(padded) - 2)}

    # An emoji-only text has an empty key; it is compared by nothing rather than matched with every other one.
    keys_a, keys_b = [match_key(t) or f"\x00{i}" for i, t in enumerate(texts)], [match_key(t) or "\x01" for t in held]
    vocab: dict[str, int] = {}

    def matrix(keys: list[str]) -> sp.csr_matrix:
        indptr, indices = [0], []
        for key in keys:
            indices.extend(sorted({vocab.setdefault(g, len(vocab)) for g in grams(key)}))
            indptr.append(len(indices))
        return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr))

    a, b = matrix(keys_a), matrix(keys_b)
    a.resize((a.shape[0], len(vocab)))
    b.resize((b.shape[0], len(vocab)))
    inter = (a @ b.T).tocoo()
    size_a, size_b = np.asarray(a.sum(axis=1)).ravel(), np.asarray(b.sum(axis=1)).ravel()
    jaccard = inter.data / (size_a[inter.row] + size_b[inter.col] - inter.data)
    # Equal keys have equal trigram sets (Jaccard 1), so exact copies are found here too.
    pairs = {(int(i), int(j)) for i, j, v in zip(inter.row, inter.col, jaccard, strict=True) if v >= threshold}
    return sorted((texts[i], held[j]) for i, j in pairs)


def _bucket(text: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stratified(rows: list[Row], salt: str, fractions: dict[str, float]) -> list[Row]:
    """Assign ``split`` by stratum (label pattern + kind): within each, rows sorted by hash are cut by fraction."""
    strata: dict[tuple[object, ...], list[Row]] = defaultdict(list)
    for row in rows:
        strata[(row.labels, row.kind, row.extra.get("stratum", ""))].append(row)
    out: list[Row] = []
    names = list(fractions)
    for members in strata.values():
        members.sort(key=lambda r: (_bucket(r.text, salt), r.text))
        n = len(members)
        bounds, acc = [], 0.0
        for name in names:
            acc += fractions[name]
            bounds.append(round(acc * n))
        start = 0
        for name, end in zip(names, bounds, strict=True):
            out.extend(replace(r, split=name) for r in members[start:end])
            start = end
    return out


def _labels(**values: int) -> tuple[int, ...]:
    """Public-data default: 0 for every category, then the given values. Uncovered categories stay 0 because a
    public post is almost never stalking or a refusal; ``_public`` marks the exceptions unknown."""
    out = [0] * K
    for name, value in values.items():
        out[IDX[name]] = value
    return tuple(out)


def _public(text: str, labels: tuple[int, ...]) -> tuple[int, ...]:
    # About 55 unlabelled "kys / go die" strings hide in the public sets: unknown, not negative, for that head.
    if _SELF_HARM_HINT.search(text.lower()) and labels[IDX["self_harm_incitement"]] == 0:
        out = list(labels)
        out[IDX["self_harm_incitement"]] = -1
        return tuple(out)
    return labels


def _clean_tweet(text: str) -> str:
    text = html.unescape(html.unescape(text))
    text = _RT.sub("", text)
    text = _HANDLE.sub("@user", text)
    text = _URL.sub("URL", text)
    return " ".join(text.split())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ----------------------------------------------------------------------------------------------- training sets


def load_davidson(root: Path) -> list[Row]:
    """Davidson et al.: class 0 hate → identity_hate (insult unknown), 1 offensive → insult, 2 neither → negative.
    Threat is unknown for 0/1 (not labelled). A fixed stratified 20% is held out (``test``, the 3-class goal);
    of the rest 15% is validation."""
    rows = []
    for rec in _read_csv(root / "davidson-hate-offensive" / "labeled_data.csv"):
        text = _clean_tweet(rec["tweet"])
        if not text:
            continue
        cls = int(rec["class"])
        if cls == 0:
            labels = _labels(identity_hate=1, insult=-1, threat=-1, sexual_harassment=-1)
        elif cls == 1:
            labels = _labels(insult=1, threat=-1, identity_hate=-1, sexual_harassment=-1)
        else:
            labels = _labels()
        rows.append(Row(text, _public(text, labels), "davidson", "", group=str(cls),
                        extra={"davidson_class": str(cls), "stratum": str(cls)}))
    split = stratified(rows, "davidson-2026", {"train": 0.8, "test": 0.2})
    held = [r for r in split if r.split == "test"]
    rest = stratified([r for r in split if r.split == "train"], "davidson-val", {"train": 0.85, "val": 0.15})
    return rest + held


def load_edos(root: Path) -> list[Row]:
    """EDOS (sexism): sexist → identity_hate; 1.1 threats → threat, 1.2 incitement → threat unknown; insult is
    unknown throughout (its attacks are mostly about women in general, not aimed at the reader)."""
    rows = []
    for rec in _read_csv(root / "edos" / "edos_labelled_aggregated.csv"):
        text = " ".join(rec["text"].split())
        if not text or len(text) > MAX_PUBLIC_CHARS:
            continue
        sexist = rec["label_sexist"] == "sexist"
        vector = rec["label_vector"]
        threat = 1 if vector.startswith("1.1") else (-1 if vector.startswith("1.2") else 0)
        labels = _labels(identity_hate=1 if sexist else 0, threat=threat, insult=-1,
                         sexual_harassment=-1 if vector.startswith("2.3") else 0)
        split = {"train": "train", "dev": "val", "test": "test"}[rec["split"]]
        rows.append(Row(text, _public(text, labels), "edos", split, group=vector))
    return rows


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def load_toxic_spans(root: Path) -> list[Row]:
    """Toxic spans (Civil Comments): a type counts when two or more annotators marked it (one is unknown).
    Long comments are cut to the sentences holding agreed spans, which keeps them chat-length."""
    base = root / "toxic-spans"
    comments = {r["comment_id"]: r["comment_text"] for r in _read_csv(base / "comments.csv")}
    ann_comment = {r["annotation"]: r["comment_id"] for r in _read_csv(base / "annotations.csv")}
    type_map = {"Threat": "threat", "Insult": "insult", "Identity based Attack": "identity_hate"}
    spans: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    for rec in _read_csv(base / "spans.csv"):
        kind = type_map.get(rec["type"])
        cid = ann_comment.get(rec["annotation"])
        if kind is None or cid is None:
            continue
        try:
            spans[cid].append((rec["annotation"], kind, int(rec["start"]), int(rec["end"])))
        except ValueError:
            continue
    rows = []
    for cid, text in comments.items():
        pieces = [(0, len(text))] if len(text) <= 300 else _sentence_spans(text)
        for start, end in pieces:
            votes: dict[str, set[str]] = defaultdict(set)
            for annotation, kind, s, e in spans.get(cid, []):
                if s < end and e > start:
                    votes[kind].add(annotation)
            if len(text) > 300 and not any(len(v) >= 2 for v in votes.values()):
                continue  # only agreed toxic sentences are cut out of long comments
            piece = " ".join(text[start:end].split())
            if len(piece) < 3:
                continue
            values = {k: (1 if len(votes[k]) >= 2 else -1 if len(votes[k]) == 1 else 0) for k in type_map.values()}
            labels = _labels(**values)
            rows.append(Row(piece, _public(piece, labels), "toxic_spans", "", group="comment",
                            extra={"stratum": f"{values['threat']}{values['insult']}{values['identity_hate']}"}))
    return stratified(rows, "toxic-spans", {"train": 0.85, "val": 0.15})


def load_guest(root: Path) -> list[Row]:
    """Guest et al. (Reddit misogyny). The ``author`` column is never read. Personal attacks → insult,
    misogynistic derogation/pejoratives/treatment → identity_hate, Threatening_* → threat; talk *about*
    control or privacy is unknown for those heads (it is not a controlling message)."""
    rows = []
    path = root / "reddit-misogyny-guest2021" / "final_labels.csv"
    wanted = ("body", "level_1", "level_2", "level_3", "split")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        pos = {name: header.index(name) for name in wanted}  # by position: "author" is never touched
        for record in reader:
            rec = {name: record[i] if i < len(record) else "" for name, i in pos.items()}
            text = " ".join(rec["body"].split())
            if not text or text in ("[deleted]", "[removed]") or len(text) > MAX_PUBLIC_CHARS:
                continue
            level2, level3 = rec["level_2"], rec["level_3"]
            misogynistic = rec["level_1"] == "Misogynistic"
            values = {"identity_hate": int(misogynistic), "insult": int(level2.endswith("personal_attack")),
                      "threat": int(level3.startswith(("Threatening_Physical", "Threatening_Sexual")))}
            if level3 in ("Disrespectful_actions_Controlling", "Disrespectful_actions_Manipulation"):
                values["coercion_control"] = -1
            if level3 == "Threatening_Privacy":
                values["doxxing"] = -1
            if level3 == "Disrespectful_actions_Seduction_and_conquest":
                values["sexual_harassment"] = -1
            labels = _labels(**values)
            rows.append(Row(text, _public(text, labels), "guest", rec["split"], group=level2,
                            extra={"stratum": level2}))
    train = stratified([r for r in rows if r.split == "train"], "guest-val", {"train": 0.85, "val": 0.15})
    return train + [r for r in rows if r.split == "test"]


def load_mlma(root: Path) -> list[Row]:
    """MLMA (tweets collected with hate keywords, noisy): hateful towards a protected target → identity_hate,
    direct offensive/abusive → insult, "normal" → negative; everything else is unknown for those heads."""
    rows = []
    for rec in _read_csv(root / "mlma-hate-speech" / "en_dataset_with_stop_words.csv"):
        text = _clean_tweet(rec["tweet"].replace("\\u2026", "…"))
        if not text:
            continue
        sentiment = set(rec["sentiment"].split("_"))
        if sentiment == {"normal"}:
            labels = _labels()
        else:
            hate = 1 if "hateful" in sentiment and rec["target"] != "other" else -1
            direct_abuse = rec["directness"] == "direct" and sentiment & {"offensive", "abusive", "disrespectful"}
            insult = 1 if direct_abuse else -1
            labels = _labels(identity_hate=hate, insult=insult, threat=-1, sexual_harassment=-1)
        rows.append(Row(text, _public(text, labels), "mlma", "", group=rec["sentiment"]))
    return stratified(rows, "mlma", {"train": 0.85, "val": 0.15})


def load_toxigen(root: Path) -> list[Row]:
    """ToxiGen seed statements: hate → identity_hate (implicit, no slurs); neutral → negatives naming the same
    groups. Insult and threat are unknown for the hateful ones."""
    seen: dict[str, str] = {}
    base = root / "toxigen-seeds"
    with (base / "prompt_sentences.tsv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            seen.setdefault(rec["text"].strip(), rec["label"])
    for path in sorted((base / "demonstrations").rglob("*.txt")):
        label = "hate" if path.name.startswith("hate") else "neutral"
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip().lstrip("-").strip()
            if text:
                seen.setdefault(text, label)
    rows = []
    for text, label in sorted(seen.items()):
        labels = _labels(identity_hate=1, insult=-1, threat=-1) if label == "hate" else _labels()
        rows.append(Row(text, labels, "toxigen", "", group=label))
    return stratified(rows, "toxigen", {"train": 0.85, "val": 0.15})


def load_hatemoji_build(root: Path) -> list[Row]:
    """HatemojiBuild (adversarial, emoji): hateful → identity_hate; threatening language → threat too."""
    rows = []
    for name in ("train", "validation", "test"):
        for rec in _read_csv(root / "hatemoji" / "HatemojiBuild" / f"{name}.csv"):
            text = " ".join(rec["text"].split())
            hateful = rec["label_gold"] == "1"
            threat = 1 if rec["type"] == "threateninglanguage" else (-1 if hateful else 0)
            labels = _labels(identity_hate=int(hateful), threat=threat, insult=-1 if hateful else 0)
            split = {"train": "train", "validation": "val", "test": "test"}[name]
            rows.append(Row(text, labels, "hatemoji_build", split, group=rec["type"]))
    return rows


def load_perspective(root: Path, *, per_template: int = 700) -> list[Row]:
    """Perspective sentence templates, sampled (they are very repetitive): toxic ``you_are_adj`` /
    ``you_occupation`` → insult (+ identity_hate when an identity word is insulted); non-toxic → negatives that
    name identities; toxic sentences about a named third person are insults only for them, so unknown."""
    by_template: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rec in _read_csv(root / "perspective-sentence-templates" / "en_sentence_templates.csv"):
        by_template[(rec["template"], rec["toxicity"])].append(rec["phrase"])
    rows = []
    for (template, toxicity), phrases in sorted(by_template.items()):
        phrases = sorted(set(phrases), key=lambda p: _bucket(p, "perspective"))[:per_template]
        for text in phrases:
            if toxicity == "nontoxic":
                labels = _labels()
            elif template == "you_are_adj":
                labels = _labels(insult=1, identity_hate=1)
            elif template == "you_occupation":
                labels = _labels(insult=1)
            elif template in ("being_adj", "am_hate_adj", "verb_adj"):
                labels = _labels(identity_hate=1, insult=-1)
            else:
                labels = _labels(identity_hate=1, insult=-1)
            rows.append(Row(text, labels, "perspective", "", group=f"{template}:{toxicity}"))
    return stratified(rows, "perspective", {"train": 0.85, "val": 0.15})


def _convabuse_votes(record: list[str]) -> dict[str, float]:
    # 8 annotators × 17 columns from column 7; read by position because of the duplicated header names.
    labelled = abusive = 0
    types: dict[str, int] = defaultdict(int)
    names = ("ableist", "homophobic", "intellectual", "racist", "sexist", "sex_harassment", "transphobic")
    target_individual = 0
    for a in range(8):
        cols = record[7 + 17 * a: 7 + 17 * (a + 1)]
        if len(cols) < 17 or not any(c.strip() for c in cols[:5]):
            continue
        labelled += 1
        flags = [c.strip() in ("1", "1.0") for c in cols]
        if any(flags[2:5]):
            abusive += 1
            for k, name in enumerate(names):
                if flags[5 + k]:
                    types[name] += 1
            if flags[13] or flags[14]:
                target_individual += 1
    out = {"labelled": float(labelled), "abusive": float(abusive), "individual": float(target_individual)}
    out.update({k: float(v) for k, v in types.items()})
    return out


def load_convabuse(root: Path) -> list[Row]:
    """ConvAbuse (users writing to a chatbot): abusive by majority; sexual harassment by majority → 1, by a
    minority → unknown; identity types → identity_hate; other abuse aimed at the bot → insult."""
    rows = []
    for name, split in (("train", "train"), ("valid", "val"), ("test", "test")):
        with (root / "convabuse" / f"ConvAbuseEMNLP{name}.csv").open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for record in reader:
                text = " ".join(record[5].split())
                if not text:
                    continue
                v = _convabuse_votes(record)
                n = max(v["labelled"], 1.0)
                abusive = v["abusive"] > n / 2
                sh = v.get("sex_harassment", 0.0)
                ident = sum(v.get(k, 0.0) for k in ("homophobic", "racist", "sexist", "transphobic", "ableist"))
                if not abusive:
                    labels = _labels(insult=-1 if v["abusive"] else 0,
                                     sexual_harassment=-1 if sh else 0, identity_hate=-1 if ident else 0)
                else:
                    sexual = 1 if sh > n / 2 else (-1 if sh else 0)
                    hate = 1 if ident > n / 2 else (-1 if ident else 0)
                    insult = 1 if v.get("intellectual", 0.0) or v["individual"] > n / 2 else -1
                    if sexual == 1 and not v.get("intellectual", 0.0):
                        insult = -1
                    labels = _labels(insult=insult, sexual_harassment=sexual, identity_hate=hate, threat=-1)
                rows.append(Row(text, _public(text, labels), "convabuse", split))
    return rows


# ------------------------------------------------------------------------------------------ evaluation only


def load_hatecheck(root: Path) -> list[Row]:
    """HateCheck (evaluate only). hateful → identity_hate; threat functionalities → threat; non-hateful
    functionalities are look-alikes, except that abuse of an individual or a non-protected group is an insult
    for us (so identity_hate 0, insult unknown there)."""
    rows = []
    for rec in _read_csv(root / "hatecheck" / "test_suite_cases.csv"):
        func = rec["functionality"]
        hateful = rec["label_gold"] == "hateful"
        values = {"identity_hate": int(hateful), "threat": 1 if func in ("threat_dir_h", "threat_norm_h") else 0}
        if func in ("target_indiv_nh", "target_group_nh") or hateful:
            values["insult"] = -1
        if not hateful and func not in ("threat_dir_h", "threat_norm_h"):
            values["threat"] = 0
        rows.append(Row(rec["test_case"].strip(), _labels(**values), "hatecheck", "test", group=func))
    return rows


def load_hatemoji_check(root: Path) -> list[Row]:
    rows = []
    for rec in _read_csv(root / "hatemoji" / "HatemojiCheck" / "test.csv"):
        hateful = rec["label_gold"] == "1"
        rows.append(Row(rec["text"].strip(), _labels(identity_hate=int(hateful), insult=-1 if hateful else 0,
                                                     threat=-1 if hateful else 0),
                        "hatemoji_check", "test", group=rec["functionality"]))
    return rows


def load_xstest(root: Path) -> list[Row]:
    """XSTest (evaluate only): the safe prompts are harmless look-alikes ("how do I kill a Python process?");
    unsafe contrasts are not labelled in our categories (unknown), except privacy contrasts (doxxing unknown)."""
    rows = []
    for rec in _read_csv(root / "xstest" / "xstest_prompts.csv"):
        safe = rec["label"] == "safe"
        labels = _labels() if safe else tuple([-1] * K)
        rows.append(Row(rec["prompt"].strip(), labels, "xstest", "test", group=rec["type"]))
    return rows


def load_openai_moderation(root: Path) -> list[Row]:
    """OpenAI moderation samples (evaluate only). Labels are kept as given in ``extra`` (a missing key means
    unknown); ``labels`` maps HR → insult, V or H2 → threat, H → identity_hate; others unknown."""
    rows = []
    with gzip.open(root / "openai-moderation" / "samples-1680.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            extra = {k: str(rec[k]) for k in ("S", "H", "V", "HR", "SH", "S3", "H2", "V2") if k in rec}
            labels = [-1] * K
            if "HR" in rec:
                labels[IDX["insult"]] = int(rec["HR"])
            if "V" in rec or "H2" in rec:
                labels[IDX["threat"]] = int(bool(rec.get("V", 0) or rec.get("H2", 0)))
            if "H" in rec:
                labels[IDX["identity_hate"]] = int(rec["H"])
            rows.append(Row(rec["prompt"], tuple(labels), "openai_moderation", "test", extra=extra))
    return rows


# ------------------------------------------------------------------------------------ the project's own text


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc


def _own_labels(names: Iterable[str], where: str) -> tuple[int, ...]:
    out = [0] * K
    for name in names:
        if name not in IDX:
            raise ValueError(f"{where}: unknown category {name!r}")
        out[IDX[name]] = 1
    return tuple(out)


# Files whose authors listed every category that applies; in the other (first-round) files a positive's co-labels
# were added by hand and may be missing, so a category they do not list is unknown there, not "no".
COMPLETE_LABEL_FILES = "author_"


def load_examples(folder: Path) -> list[Row]:
    """The project's private-chat examples (``training/examples/*.jsonl``). Look-alikes and everyday lines are
    harmless for all ten categories; a positive's unlisted categories are 0 in ``author_*`` files and unknown (-1)
    elsewhere (see ``COMPLETE_LABEL_FILES``). Split 80/20 train/val by stratum (labels + kind)."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        complete = path.name.startswith(COMPLETE_LABEL_FILES)
        for number, rec in read_jsonl(path):
            text = str(rec.get("text", "")).strip()
            if not text:
                continue
            where = f"{path.name}:{number}"
            labels_field = rec.get("labels", [])
            labels = _own_labels(labels_field if isinstance(labels_field, list) else [], where)
            kind = str(rec.get("kind", "positive" if any(labels) else "neutral"))
            if kind == "positive" and not complete:
                labels = tuple(1 if v == 1 else -1 for v in labels)
            group = str(rec.get("lookalike_of", "") or "")
            rows.append(Row(text, labels, f"examples/{path.stem}", "", kind=kind, group=group))
    return stratified(rows, "own-examples", {"train": 0.8, "val": 0.2})


def load_functional_suite(path: Path, source: str = "functional_suite") -> list[Row]:
    """A held-out functional suite (evaluate only, never trained on); ``source`` names it in reports."""
    rows: list[Row] = []
    if not path.is_file():
        return rows
    for number, rec in read_jsonl(path):
        where = f"{path.name}:{number}"
        labels_field = rec.get("labels", [])
        labels = _own_labels(labels_field if isinstance(labels_field, list) else [], where)
        lookalike = bool(rec.get("lookalike", False))
        rows.append(Row(str(rec["text"]), labels, source, "test",
                        kind="lookalike" if lookalike else ("positive" if any(labels) else "neutral"),
                        group=str(rec.get("functionality", "")), extra={"id": str(rec.get("id", number))}))
    return rows


# ------------------------------------------------------------------------------------------------- assembly

PUBLIC_TRAINING = (load_davidson, load_edos, load_toxic_spans, load_guest, load_mlma, load_toxigen,
                   load_hatemoji_build, load_perspective, load_convabuse)
EVALUATION_ONLY = (load_hatecheck, load_hatemoji_check, load_xstest, load_openai_moderation)


def drop_overlap(rows: list[Row], evaluation: Iterable[Row]) -> tuple[list[Row], int]:
    """Remove from ``train``/``val`` every row whose match key is in an evaluation row; returns (rows, removed)."""
    held = {match_key(r.text) for r in evaluation}
    kept, removed = [], 0
    for row in rows:
        if row.split in ("train", "val") and match_key(row.text) in held:
            removed += 1
            continue
        kept.append(row)
    return kept, removed


def balance_davidson(rows: list[Row], cap: int = 4000) -> list[Row]:
    """Davidson is 77% "offensive" (mostly undirected profanity): keep at most ``cap`` of those training rows
    (chosen by hash) so they do not swamp the insult head. The 3-class head still sees the whole 80%."""
    offensive = [r for r in rows
                 if r.source == "davidson" and r.split == "train" and r.extra.get("davidson_class") == "1"]
    drop = {id(r) for r in sorted(offensive, key=lambda r: _bucket(r.text, "davidson-cap"))[cap:]}
    return [r for r in rows if id(r) not in drop]


def dedupe_training(rows: list[Row]) -> list[Row]:
    """One row per match key among train/val rows: the project's own examples win over public rows, and a key
    that lands in both train and val keeps its first (train) copy, so val never repeats a training text."""
    chosen: dict[str, Row] = {}
    rank = {"public": 1}
    for row in rows:
        if row.split not in ("train", "val"):
            continue
        key = match_key(row.text)
        old = chosen.get(key)
        if old is None or (rank.get(old.kind, 0) > rank.get(row.kind, 0)):
            chosen[key] = row
    test = [r for r in rows if r.split not in ("train", "val")]
    return list(chosen.values()) + test
