from evalbook.cli.app import main

main()
