from rnnaccel.cli import main

main()
