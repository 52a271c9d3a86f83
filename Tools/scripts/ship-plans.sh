#!/usr/bin/env bash
# Ships the plans of a reproduce.sh run as the reference plans: every plan in
# DIR/recovery goes to Plans/<model>/<fingerprint>.json (with its convergence
# log) and its device to Plans/profiles/. Plans in Plans/ for other weights
# (models no longer shipped) are removed. The store holds one plan per
# (model, device): where several settings share a device (Fig. 8's h2, op and
# h2+op; Fig. 9's c0, c1 and c0+c1; Fig. 7's hybrid and Fig. 10's GA alone),
# the plan covering the most layers is shipped, then the one measuring best
# on its fitness images; the others stay in DIR/recovery.
#
#   Tools/scripts/ship-plans.sh [DIR]      (default: results/full)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-results/full}"
python3 - "$dir" <<'PY'
import glob, json, os, shutil, sys
out = sys.argv[1]
digests = {}
for model in ("mnist32-cnn", "fashion-cnn"):
    for path in glob.glob(f"Plans/{model}/*.json"):
        plan = json.load(open(path))
        digests.setdefault(model, set()).add(plan["model"]["weights_digest"])
shipped = {}
for path in sorted(glob.glob(os.path.join(out, "recovery", "*.json"))):
    if path.endswith(".result.json") or ".checkpoint." in path or not os.path.exists(path[:-5] + ".result.json"):
        continue
    plan = json.load(open(path))
    _, model, layers, kind, fr, seed = os.path.basename(path)[:-5].split("_")
    key = (plan["model"]["name"], plan["profile_fingerprint"])
    # One plan per (model, device): the one covering the most layers (h2+op over h2 or op,
    # c0+c1 over c0 or c1), then the one measuring best on its fitness images.
    rank = (len(plan["layers"]), plan["accuracy"]["fitness"]["planned"]["mean"])
    if key not in shipped or rank > shipped[key][1]:
        shipped[key] = (path, rank, f"{kind}-fr{fr}-seed{seed[4:]}.json", plan["model"]["weights_digest"])
current = {name: digest for (name, _), (_, _, _, digest) in shipped.items()}
# Plans for weights that are no longer shipped go.
for model in ("mnist32-cnn", "fashion-cnn"):
    for path in glob.glob(f"Plans/{model}/*"):
        base = path.split("/")[-1].split(".")[0]
        plan_path = f"Plans/{model}/{base}.json"
        if os.path.exists(plan_path) and json.load(open(plan_path))["model"]["weights_digest"] != current.get(model):
            os.remove(path)
        elif not os.path.exists(plan_path):
            os.remove(path)
kept_profiles = set()
for (model, fingerprint), (path, _, profile_name, _) in shipped.items():
    os.makedirs(f"Plans/{model}", exist_ok=True)
    shutil.copyfile(path, f"Plans/{model}/{fingerprint}.json")
    for suffix in (".convergence.csv", ".convergence.svg"):
        if os.path.exists(path[:-5] + suffix):
            shutil.copyfile(path[:-5] + suffix, f"Plans/{model}/{fingerprint}{suffix}")
    shutil.copyfile(os.path.join(out, "profiles", profile_name), f"Plans/profiles/{profile_name}")
    kept_profiles.add(profile_name)
for path in glob.glob("Plans/profiles/*.json"):
    if os.path.basename(path) not in kept_profiles:
        os.remove(path)
print(f"shipped {len(shipped)} plans and {len(kept_profiles)} profiles from {out}")
PY
