#!/usr/bin/env python3
"""Builds the installable Teams app package: manifest.json with the ids filled in, plus both icons, at the
zip's root (Teams rejects a package whose files sit in a folder).

  TEAMS_APP_ID=<new GUID> BOT_APP_ID=<Entra app id> BOT_DOMAIN=bot.example.com \\
      python3 manifests/teams/build_package.py [--out incidentbot-teams.zip]

TEAMS_APP_ID defaults to BOT_APP_ID. Standard library only.
"""
import argparse
import json
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.getcwd(), "incidentbot-teams.zip"))
    args = parser.parse_args()

    bot_id = os.environ.get("BOT_APP_ID", "")
    values = {
        "BOT_APP_ID": bot_id,
        "TEAMS_APP_ID": os.environ.get("TEAMS_APP_ID") or bot_id,
        "BOT_DOMAIN": os.environ.get("BOT_DOMAIN", ""),
    }
    errors = [f"{k} must be a GUID, got '{values[k]}'" for k in ("BOT_APP_ID", "TEAMS_APP_ID") if not GUID.match(values[k])]
    if not DOMAIN.match(values["BOT_DOMAIN"]):
        errors.append(f"BOT_DOMAIN must be a host name such as bot.example.com, got '{values['BOT_DOMAIN']}'")
    if errors:
        print("cannot build the Teams package: " + "; ".join(errors), file=sys.stderr)
        return 2

    with open(os.path.join(HERE, "manifest.json"), encoding="utf-8") as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if left:
        print(f"cannot build the Teams package: unknown placeholders {sorted(set(left))}", file=sys.stderr)
        return 2
    json.loads(text)  # still valid JSON after substitution

    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", text)
        package.write(os.path.join(HERE, "color.png"), "color.png")
        package.write(os.path.join(HERE, "outline.png"), "outline.png")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
