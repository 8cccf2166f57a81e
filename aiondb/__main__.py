from aiondb.cli import main

raise SystemExit(main())
