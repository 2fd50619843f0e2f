from haoban.cli import main

main()
