"""Write sim/scenario/scenario.schema.json from the pydantic models (run after changing the schema).

    python scripts/generate_schema.py

tests/test_uncertainties.py fails while the shipped file is out of date.
"""

from sim.scenario.jsonschema import SCHEMA_FILE, schema_text

if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
