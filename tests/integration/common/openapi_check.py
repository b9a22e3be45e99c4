"""Checks the app API's OpenAPI document and real answers against it.

Usage: python3 openapi_check.py DOCUMENT < SAMPLES
DOCUMENT is validated as OpenAPI 3.1 (openapi-spec-validator). SAMPLES is a JSON list of real answers,
each {"method", "path" (the document's path template), "status", "body" (parsed JSON or null)}: each must
be a documented answer of a documented operation, and its body must match the documented schema
(JSON Schema 2020-12). Prints one line per sample; exits 1 at the first mismatch.
"""
import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    validate(doc)
    print("document: valid OpenAPI", doc["openapi"])
    for sample in json.load(sys.stdin):
        where = f'{sample["method"]} {sample["path"]} {sample["status"]}'
        operation = doc["paths"].get(sample["path"], {}).get(sample["method"].lower())
        if operation is None:
            print(f"{where}: operation not documented")
            return 1
        answer = operation["responses"].get(str(sample["status"]))
        if answer is None:
            print(f"{where}: status not documented")
            return 1
        if "$ref" in answer:  # a shared answer: "#/components/responses/Name"
            answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        # JSON under its own media type too (`application/jwk-set+json`).
        content = next(
            (c for kind, c in answer.get("content", {}).items() if kind == "application/json" or kind.endswith("+json")),
            None,
        )
        if content is None:
            if sample["body"] is not None:
                print(f"{where}: a body where the document says none")
                return 1
            print(f"{where}: ok (no body)")
            continue
        # The schema's $refs point into the document's components: resolve them from the same root.
        schema = dict(content["schema"], components=doc["components"])
        errors = sorted(Draft202012Validator(schema).iter_errors(sample["body"]), key=str)
        if errors:
            print(f"{where}: {errors[0].message} (in {list(errors[0].absolute_path)})")
            return 1
        print(f"{where}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
