from ocisim.cli import main

raise SystemExit(main())
