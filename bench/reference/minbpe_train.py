"""The lecture's BPE training loop in plain Python (minbpe's algorithm: a full recount of pairs per
merge, ties to the pair seen first), timed. Reads JSON {"text", "vocab_size", "pattern"} on stdin
("" pattern = BasicTokenizer) and prints {"seconds", "merges"}. Needs the `regex` module for a pattern.
"""
import json
import sys
import time


def get_stats(ids, counts):
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train(text, vocab_size, pattern):
    if pattern:
        import regex

        chunks = regex.findall(regex.compile(pattern), text)
    else:
        chunks = [text]
    ids = [list(c.encode("utf-8")) for c in chunks]
    merges = []
    for i in range(vocab_size - 256):
        stats = {}
        for chunk_ids in ids:
            get_stats(chunk_ids, stats)
        pair = max(stats, key=stats.get)
        idx = 256 + i
        ids = [merge(chunk_ids, pair, idx) for chunk_ids in ids]
        merges.append(list(pair))
    return merges


def main():
    job = json.load(sys.stdin)
    started = time.perf_counter()
    merges = train(job["text"], job["vocab_size"], job["pattern"])
    print(json.dumps({"seconds": time.perf_counter() - started, "merges": merges}))


if __name__ == "__main__":
    main()
