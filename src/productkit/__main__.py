from productkit.cli import main

main()
