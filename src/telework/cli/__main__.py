from telework.cli.main import main

main()
