"""Short messages as 3GPP TS 23.040 / 23.038 define them: the GSM 7-bit alphabet, the TPDUs a
module exchanges with its SMSC, and the message memories a module keeps (SIM and ME)."""
