from fdsl.cli import main

raise SystemExit(main())
