from cryptosense.cli import main

raise SystemExit(main())
