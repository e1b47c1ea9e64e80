from deconv_gui.app import main

raise SystemExit(main())
