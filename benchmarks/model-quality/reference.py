"""Reference SVMs for docs/model.md: scikit-learn TF-IDF + LinearSVC on word 1-2-grams and on char_wb 2-5-grams
(defaults otherwise), and the automation a calibrated SVM (CalibratedClassifierCV, 5-fold sigmoid, on the better
features) reaches at the target precision with one confidence cut chosen on the test set itself (an upper bound).
Usage: python3 reference.py TRAIN TEST [TARGET]   (CSV or TSV with columns text and label, or label<TAB>text files)"""
import csv, json, sys
import numpy
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

def load(path):
    with open(path, encoding="utf-8", newline="") as f:
        first = f.readline(); f.seek(0)
        if "\t" in first and not first.startswith("text"):
            rows = [line.rstrip("\n").split("\t", 1) for line in f]
            return [t for _, t in rows], [l for l, _ in rows]
        rows = list(csv.DictReader(f, delimiter="\t" if "\t" in first else ","))
        return [r["text"] for r in rows], [r["label"] for r in rows]

def automation(probabilities, classes, truth, target):
    ranked = sorted(((p.max(), classes[p.argmax()] == t) for p, t in zip(probabilities, truth)), key=lambda x: -x[0])
    best, right = 0.0, 0
    for i, (confidence, ok) in enumerate(ranked):
        right += ok
        last = i + 1 == len(ranked) or ranked[i + 1][0] < confidence
        if last and right / (i + 1) >= target:
            best = (i + 1) / len(ranked)
    return best

Xtr, ytr = load(sys.argv[1]); Xte, yte = load(sys.argv[2]); target = float(sys.argv[3]) if len(sys.argv) > 3 else 0.95
result = {}
for name, vec in {"word": lambda: TfidfVectorizer(ngram_range=(1, 2)), "char_wb": lambda: TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))}.items():
    v = vec(); A = v.fit_transform(Xtr); B = v.transform(Xte)
    result[name] = sum(p == t for p, t in zip(LinearSVC().fit(A, ytr).predict(B), yte)) / len(yte)
    result[name + "_data"] = (A, B)
best = max(("word", "char_wb"), key=lambda n: result[n])
A, B = result.pop("word_data"), result.pop("char_wb_data")
A, B = {"word": A, "char_wb": B}[best]
# 5-fold calibration needs 5 examples of each label: rarer labels are left out of it (their test mail counts as wrong).
from collections import Counter
count = Counter(ytr); keep = [i for i, l in enumerate(ytr) if count[l] >= 5]
cal = CalibratedClassifierCV(LinearSVC(), cv=5).fit(A[keep], numpy.array([ytr[i] for i in keep]))
result["calibrated_features"] = best
result["calibrated_automation"] = automation(cal.predict_proba(B), cal.classes_, yte, target)
print(json.dumps(result))
