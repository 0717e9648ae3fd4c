from productkit.console import main

main()
