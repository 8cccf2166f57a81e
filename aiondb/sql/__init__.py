"""SQL: parsing (sqlglot dialect), binding, planning, execution, sessions."""
